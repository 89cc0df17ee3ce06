// Catch2 main for test_http.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
