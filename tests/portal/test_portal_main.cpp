// Catch2 main for test_portal.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
