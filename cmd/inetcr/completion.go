package main

import (
	"fmt"
	"strconv"

	"github.com/urfave/cli/v2"
)

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a bash completion script",
		UsageText: "inetcr completion [bash]",
		Description: "Prints a bash script that completes inetcr's commands, flags and, for dump and restore,\n" +
			"the inodes of the sockets inetcr ls would list. Load it with\n\n" +
			"  source <(inetcr completion bash)\n\n" +
			"or install it as /etc/bash_completion.d/inetcr.",
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 || (c.NArg() == 1 && c.Args().First() != "bash") {
				return fmt.Errorf("completion: only bash is supported")
			}
			_, err := fmt.Fprint(c.App.Writer, bashCompletion)
			return err
		},
	}
}

// bashCompletion asks inetcr itself, through urfave/cli's hidden
// --generate-bash-completion flag, what may follow the words typed so far.
const bashCompletion = `# bash completion for inetcr
_inetcr() {
    local cur words
    COMPREPLY=()
    cur="${COMP_WORDS[COMP_CWORD]}"
    words=("${COMP_WORDS[@]:1:COMP_CWORD-1}")
    # inetcr lists the flags when the last word starts with a dash; a bare
    # "--" would end its options instead, so ask with "-".
    if [[ "$cur" == -- ]]; then
        words+=("-")
    elif [[ "$cur" == -* ]]; then
        words+=("$cur")
    fi
    local IFS=$'\n'
    COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" "${words[@]}" --generate-bash-completion 2>/dev/null)" -- "$cur"))
    return 0
}
complete -o bashdefault -o default -F _inetcr inetcr
`

// completeInodes completes dump's and restore's INODE with the sockets of
// this network namespace, or with the command's flags after a dash.
func completeInodes(c *cli.Context) {
	if c.NArg() > 0 {
		return
	}
	b, err := openBackend(c)
	if err != nil {
		return
	}
	defer b.Close()
	socks, err := b.List()
	if err != nil {
		return
	}
	for _, s := range socks {
		fmt.Fprintln(c.App.Writer, strconv.FormatUint(s.Inode, 10))
	}
}
