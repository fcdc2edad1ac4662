# Script-driven tests register here (add_test with a command line).
