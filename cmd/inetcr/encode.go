package main

import (
	"fmt"

	"github.com/inetcr/inetcr/netlinkio/image"
	"github.com/urfave/cli/v2"
)

func encodeCommand() *cli.Command {
	return &cli.Command{
		Name:      "encode",
		Usage:     "turn an image's JSON form back into an image",
		UsageText: "inetcr encode [-o FILE] [FILE]",
		Description: "Reads the JSON form of an image (as inetcr decode --json prints it) from FILE or stdin,\n" +
			"validates it strictly (unknown keys, unknown options and bad values are errors naming the\n" +
			"field) and writes the binary image, in canonical order, to stdout or -o FILE. Like dump,\n" +
			"it refuses to write binary to a terminal.\n\n" +
			"  inetcr dump 12345 | inetcr decode --json > s.json\n" +
			"  $EDITOR s.json\n" +
			"  inetcr encode s.json | inetcr restore 12345",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the image to `FILE` instead of stdout", TakesFile: true},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return fmt.Errorf("encode: want at most one FILE, got %d (see inetcr encode --help)", c.NArg())
			}
			path := c.Args().First()
			op := "encode"
			if path != "" && path != "-" {
				op += " " + path
			}
			data, err := readInput(op, path, maxJSON)
			if err != nil {
				return err
			}
			img, err := image.DecodeJSON(data)
			if err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			return writeBinary("encode", c.String("output"), img.Encode())
		},
	}
}
