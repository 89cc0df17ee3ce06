// Catch2 main for test_daemon.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
