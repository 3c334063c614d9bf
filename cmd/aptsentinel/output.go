package main

import (
	"io"

	"github.com/aptsentinel/aptsentinel/sensor"
)

// newOutput returns the alert writer for --output.
func newOutput(name string, stdout io.Writer) (sensor.AlertWriter, error) {
	return sensor.NewLineWriter(stdout), nil
}
