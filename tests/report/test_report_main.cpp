// Catch2's main for test_report.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
