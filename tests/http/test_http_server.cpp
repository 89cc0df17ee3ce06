// tests/http/test_http_server.cpp: being written (issue 14).
