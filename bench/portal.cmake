# portal_seed: a store of N tickets (M open) with organisations, contacts and agents, for
# bench/portal_bench.py (the portal's pages, sign-in mail and replies under ingest).
# Figures in docs/PERFORMANCE.md, "The web portal". Run by hand:
#   ./portal_seed --store PATH [--tickets 100000] [--open 10000]
add_executable(portal_seed ${CMAKE_CURRENT_LIST_DIR}/portal_seed.cpp)
target_link_libraries(portal_seed PRIVATE sd_store sd_warnings)
