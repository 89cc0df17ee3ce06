// tests/imap/test_imap_main.cpp: Catch2's main for test_imap.
//
// Security notes: test code.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
