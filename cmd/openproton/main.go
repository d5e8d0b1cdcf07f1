// Command openproton is the openproton server and command line.
package main

import (
	"os"

	"github.com/openproton/openproton/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
