// http/server.cpp: being written (issue 14).
