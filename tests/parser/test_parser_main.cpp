// The Catch2 main for the parser tests (one per executable).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
