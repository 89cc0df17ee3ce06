// tests/portal/test_portal_app.cpp: being written (issue 14).
