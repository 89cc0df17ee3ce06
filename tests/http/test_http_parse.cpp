// tests/http/test_http_parse.cpp: being written (issue 14).
