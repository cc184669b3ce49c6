package main

// The mount helper form. mount -t fuse.inetcr and /etc/fstab run fuse3's
// mount.fuse3, which runs "inetcr SOURCE MOUNTPOINT -o OPTIONS" (through
// /bin/sh, with mount's PATH). Each option is a row of mountOptionTable,
// which says which flag of the command line it stands for, so that an
// option that a flag gains later is one row.

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// mountOption is one -o option.
type mountOption struct {
	// Name as fstab writes it.
	Name string
	// Flag is the command-line flag it stands for ("--x" or "--x=false"),
	// or "" when it is accepted and changes nothing.
	Flag string
	// Global: Flag is inetcr's own, given before the command.
	Global bool
	// Value: the option is NAME=VALUE and VALUE is the flag's.
	Value bool
	// Doc says what it does (docs/service.md, inetcr(8)).
	Doc string
}

// noEffect is the Doc of the options mount(8) and mount.fuse3 add on their
// own, which the tree does not need.
const noEffect = "accepted, no effect: inetcr always mounts nosuid,nodev, and the tree keeps its own times and modes"

var mountOptionTable = []mountOption{
	{Name: "allow_other", Flag: "--allow-other", Doc: "let every user use the tree (each still reaches only its own sockets; docs/security.md)"},
	{Name: "ro", Flag: "--read-only", Doc: "read-only: the kernel refuses every change with EROFS"},
	{Name: "rw", Flag: "--read-only=false", Doc: "read-write, the default"},
	{Name: "backend", Flag: "--backend", Global: true, Value: true, Doc: "how sockets are dumped and restored: auto, kernel or stock (inetcr --backend)"},
	{Name: "debug", Flag: "--debug", Doc: "log every FUSE request"},
	{Name: "default_permissions", Doc: "accepted, no effect: always on"},
	{Name: "dev", Doc: noEffect}, {Name: "nodev", Doc: noEffect},
	{Name: "suid", Doc: noEffect}, {Name: "nosuid", Doc: noEffect},
	{Name: "exec", Doc: noEffect}, {Name: "noexec", Doc: noEffect},
	{Name: "atime", Doc: noEffect}, {Name: "noatime", Doc: noEffect},
	{Name: "relatime", Doc: noEffect}, {Name: "norelatime", Doc: noEffect},
	{Name: "strictatime", Doc: noEffect}, {Name: "nostrictatime", Doc: noEffect},
	{Name: "diratime", Doc: noEffect}, {Name: "nodiratime", Doc: noEffect},
	{Name: "lazytime", Doc: noEffect}, {Name: "nolazytime", Doc: noEffect},
}

// helperArgs turns the mount helper form of args (os.Args),
//
//	inetcr SOURCE MOUNTPOINT -o OPTIONS [-o OPTIONS]...
//
// into the command line it stands for:
//
//	inetcr [GLOBAL FLAGS] mount --background [FLAGS] MOUNTPOINT
//
// ok is false when args are not in that form: a first argument that is no
// command, an absolute MOUNTPOINT (mount(8) always gives one) and -o.
// SOURCE is any name; fstab's first field, "inetcr" by custom.
func helperArgs(args []string, commands []string) (out []string, ok bool, err error) {
	if len(args) < 5 || strings.HasPrefix(args[1], "-") || slices.Contains(commands, args[1]) ||
		!filepath.IsAbs(args[2]) || args[3] != "-o" {
		return nil, false, nil
	}
	mp := args[2]
	var global, flags []string
	for i := 3; i < len(args); i += 2 {
		if args[i] != "-o" || i+1 == len(args) {
			return nil, true, fmt.Errorf("mount %s: unexpected argument %q: the mount helper takes SOURCE MOUNTPOINT -o OPTIONS", mp, args[i])
		}
		for _, opt := range strings.Split(args[i+1], ",") {
			if opt == "" {
				continue
			}
			name, value, hasValue := strings.Cut(opt, "=")
			i := slices.IndexFunc(mountOptionTable, func(o mountOption) bool { return o.Name == name })
			if i < 0 {
				return nil, true, fmt.Errorf("mount %s: unknown mount option %q (known: %s)", mp, opt, knownMountOptions())
			}
			o := mountOptionTable[i]
			switch {
			case o.Value && (!hasValue || value == ""):
				return nil, true, fmt.Errorf("mount %s: mount option %q wants a value: %s=VALUE", mp, name, name)
			case !o.Value && hasValue:
				return nil, true, fmt.Errorf("mount %s: mount option %q takes no value", mp, name)
			case o.Flag == "":
				continue
			}
			f := o.Flag
			if o.Value {
				f += "=" + value
			}
			if o.Global {
				global = append(global, f)
			} else {
				flags = append(flags, f)
			}
		}
	}
	out = append([]string{args[0]}, global...)
	out = append(out, "mount", "--background")
	out = append(out, flags...)
	return append(out, "--", mp), true, nil
}

// knownMountOptions lists the options that do something, for an error.
func knownMountOptions() string {
	var names []string
	for _, o := range mountOptionTable {
		switch {
		case o.Value:
			names = append(names, o.Name+"=VALUE")
		case o.Flag != "":
			names = append(names, o.Name)
		}
	}
	return strings.Join(names, ", ") + "; and the generic ones mount passes"
}
