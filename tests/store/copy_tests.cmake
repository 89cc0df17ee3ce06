# store copy's tests (included by tests/store/CMakeLists.txt): between SQLite stores, one
# CTest per test case; with PostgreSQL, one CTest for the whole binary (label postgresql), so
# its cases share one throwaway cluster (tests/support/pg_cluster.h, about 1.5 s to start).
add_executable(test_store_copy test_store_copy.cpp)
target_include_directories(test_store_copy PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(test_store_copy PRIVATE sd_store sd_test_main fmt::fmt sd_warnings)
catch_discover_tests(test_store_copy)

add_executable(test_store_copy_pg test_store_copy_pg.cpp)
target_include_directories(test_store_copy_pg PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(test_store_copy_pg PRIVATE sd_store sd_test_pg sd_test_main fmt::fmt sd_warnings)
target_compile_definitions(test_store_copy_pg PRIVATE SERVICEDESK_BIN="$<TARGET_FILE:servicedesk>")
add_dependencies(test_store_copy_pg servicedesk)
add_test(NAME store_copy_postgresql COMMAND test_store_copy_pg)
set_tests_properties(store_copy_postgresql PROPERTIES LABELS postgresql TIMEOUT 300)
