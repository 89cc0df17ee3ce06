// http/parse.cpp: being written (issue 14).
