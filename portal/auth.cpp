// portal/auth.cpp: being written (issue 14).
