// tests/portal/test_portal_pages.cpp: being written (issue 14).
