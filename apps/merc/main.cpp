// merc command-line entry point: parse, then dispatch to merc::app (all logic lives in the library).
#include "merc/app/cli.h"

int main(int argc, char** argv) { return merc::app::run_cli(argc, argv); }
