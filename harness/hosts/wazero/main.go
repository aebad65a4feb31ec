// The wazero host program of reactor-harness: runs guests on wazero and speaks harness/hosts/PROTOCOL.md on stdin/stdout.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/tetratelabs/wazero"
)

const wazeroModule = "github.com/tetratelabs/wazero"

// wazeroVersionPinned is the version go.mod pins, used when the build info is unavailable.
const wazeroVersionPinned = "v1.12.0"

var out *bufio.Writer

func main() {
	engine := flag.String("engine", "wazero", "wazero (the compiler) or wazero-interp (the interpreter)")
	flag.CommandLine.SetOutput(os.Stderr)
	flag.Parse()

	var cfg wazero.RuntimeConfig
	switch *engine {
	case "wazero":
		cfg = wazero.NewRuntimeConfigCompiler()
	case "wazero-interp":
		cfg = wazero.NewRuntimeConfigInterpreter()
	default:
		fmt.Fprintf(os.Stderr, "unknown engine %q (want wazero or wazero-interp)\n", *engine)
		os.Exit(2)
	}

	out = bufio.NewWriterSize(os.Stdout, 1<<16)
	w := &wire{in: bufio.NewReaderSize(os.Stdin, 1<<20), out: out}
	h, err := newHost(context.Background(), w, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w.send(readyReply{Ready: true, Engine: *engine, Version: wazeroVersion()})
	h.serve(nil) // returns only by exiting the process
}

// wazeroVersion is the linked wazero's version, from the build info.
func wazeroVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == wazeroModule {
				if dep.Replace != nil {
					return dep.Replace.Version
				}
				return dep.Version
			}
		}
	}
	return wazeroVersionPinned
}

// exitHost ends the host: status 0 on EOF or an `exit` request (err nil), 1 when stdout failed.
func exitHost(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "wazero host:", err)
		os.Exit(1)
	}
	_ = out.Flush()
	os.Exit(0)
}
