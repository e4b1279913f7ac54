package main

import (
	"context"
	"io"
	"os"
	"testing"
)

func TestZZProfTables(t *testing.T) {
	for i := 0; i < 5; i++ {
		f, _ := os.Open("/tmp/pg.log")
		run(context.Background(), []string{"-o", os.DevNull, "/tmp/pg.log"}, f, io.Discard, io.Discard)
		f.Close()
	}
}
