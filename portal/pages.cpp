// portal/pages.cpp: being written (issue 14).
