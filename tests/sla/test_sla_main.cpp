// Catch2 main for the SLA calendar tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
