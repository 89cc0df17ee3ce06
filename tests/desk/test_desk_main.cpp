// Catch2 main for test_desk.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
