// tests/catch_main.cpp: Catch2's main, shared by every test executable (sd_test_main).
//
// Security notes: test code.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
