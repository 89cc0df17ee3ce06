# parser_bench: parse mails from files or directories many times, print MB/s and mails/s.
# Compared with Python's email package by bench/parser_bench.py; figures in docs/parser.md.
add_executable(parser_bench ${CMAKE_CURRENT_LIST_DIR}/parser_bench.cpp)
target_link_libraries(parser_bench PRIVATE sd_parser sd_warnings)
