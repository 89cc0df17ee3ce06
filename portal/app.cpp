// portal/app.cpp: being written (issue 14).
