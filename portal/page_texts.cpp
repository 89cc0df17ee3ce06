// portal/page_texts.cpp: being written (issue 14).
