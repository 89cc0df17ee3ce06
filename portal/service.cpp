// portal/service.cpp: being written (issue 14).
