// tests/portal/test_portal_auth.cpp: being written (issue 14).
