// http/metrics.cpp: being written (issue 14).
