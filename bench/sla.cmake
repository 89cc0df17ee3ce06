# sla_bench: 100,000 due-time computations in the standard calendars. Run by hand:
#   ./sla_bench [count]     (figures recorded in docs/sla.md)
add_executable(sla_bench ${CMAKE_CURRENT_LIST_DIR}/sla_bench.cpp)
target_link_libraries(sla_bench PRIVATE sd_sla sd_warnings)
