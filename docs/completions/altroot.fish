# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_altroot_global_optspecs
    string join \n v/verbose q/quiet h/help V/version
end

function __fish_altroot_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_altroot_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_altroot_using_subcommand
    set -l cmd (__fish_altroot_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c altroot -n "__fish_altroot_needs_command" -s v -l verbose -d 'More log output (-v debug, -vv trace)'
complete -c altroot -n "__fish_altroot_needs_command" -s q -l quiet -d 'Less log output (warnings and errors only)'
complete -c altroot -n "__fish_altroot_needs_command" -s h -l help -d 'Print help'
complete -c altroot -n "__fish_altroot_needs_command" -s V -l version -d 'Print version'
complete -c altroot -n "__fish_altroot_needs_command" -f -a "serve" -d 'Run the resolver'
complete -c altroot -n "__fish_altroot_needs_command" -f -a "check" -d 'Validate the config and every zone; no network'
complete -c altroot -n "__fish_altroot_needs_command" -f -a "compare" -d 'Ask every root the same questions and show where they disagree'
complete -c altroot -n "__fish_altroot_needs_command" -f -a "config" -d 'Print snippets that point a machine, or its resolver, at altroot'
complete -c altroot -n "__fish_altroot_needs_command" -f -a "collisions" -d 'TLDs that more than one root has, and which root wins'
complete -c altroot -n "__fish_altroot_needs_command" -f -a "keygen" -d 'Make the KSK and ZSK that sign a zones root (in its zones folder\'s keys/)'
complete -c altroot -n "__fish_altroot_needs_command" -f -a "ds" -d 'Print the DS and DNSKEY of a signed zones root, for validators'
complete -c altroot -n "__fish_altroot_needs_command" -f -a "completions" -d 'Print the shell completion script for bash, zsh, fish, elvish or PowerShell'
complete -c altroot -n "__fish_altroot_needs_command" -f -a "manpages" -d 'Write the man pages (altroot(8), one per command, altroot.toml(5)) into a man tree'
complete -c altroot -n "__fish_altroot_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c altroot -n "__fish_altroot_using_subcommand serve" -s c -l config -d 'Config file [default: config/altroot.toml in the current folder]' -r -F
complete -c altroot -n "__fish_altroot_using_subcommand serve" -s v -l verbose -d 'More log output (-v debug, -vv trace)'
complete -c altroot -n "__fish_altroot_using_subcommand serve" -s q -l quiet -d 'Less log output (warnings and errors only)'
complete -c altroot -n "__fish_altroot_using_subcommand serve" -s h -l help -d 'Print help'
complete -c altroot -n "__fish_altroot_using_subcommand check" -s c -l config -d 'Config file [default: config/altroot.toml in the current folder]' -r -F
complete -c altroot -n "__fish_altroot_using_subcommand check" -s v -l verbose -d 'More log output (-v debug, -vv trace)'
complete -c altroot -n "__fish_altroot_using_subcommand check" -s q -l quiet -d 'Less log output (warnings and errors only)'
complete -c altroot -n "__fish_altroot_using_subcommand check" -s h -l help -d 'Print help'
complete -c altroot -n "__fish_altroot_using_subcommand compare" -s c -l config -d 'Config file [default: config/altroot.toml in the current folder]' -r -F
complete -c altroot -n "__fish_altroot_using_subcommand compare" -s t -l type -d 'Record types to ask, comma-separated' -r
complete -c altroot -n "__fish_altroot_using_subcommand compare" -l roots -d 'Roots to compare, comma-separated (default: all, in config order)' -r
complete -c altroot -n "__fish_altroot_using_subcommand compare" -s f -l file -d 'Read names from a file: one per line, or "rank,domain" CSV (Tranco)' -r -F
complete -c altroot -n "__fish_altroot_using_subcommand compare" -l report -d 'Also write a self-contained HTML report of the comparison to FILE (the table is then not printed; --json still is)' -r -F
complete -c altroot -n "__fish_altroot_using_subcommand compare" -l resolver -d 'Also ask this recursive resolver, as a column beside the roots (repeatable): IP[:port], tls://IP[:port]#name, https://IP[:port]/dns-query#name or quic://IP[:port]#name; LABEL=ADDR names the column' -r
complete -c altroot -n "__fish_altroot_using_subcommand compare" -l tls-ca -d 'Verify tls://, https:// and quic:// resolvers with the CAs in this PEM file instead of the system\'s' -r -F
complete -c altroot -n "__fish_altroot_using_subcommand compare" -s j -l jobs -d 'Names compared at the same time' -r
complete -c altroot -n "__fish_altroot_using_subcommand compare" -l json -d 'One JSON object per line instead of the table'
complete -c altroot -n "__fish_altroot_using_subcommand compare" -l dnssec -d 'Also check each root\'s data (asked with CD) under every other root\'s trust anchors: what a validator trusting only that root\'s key makes of it'
complete -c altroot -n "__fish_altroot_using_subcommand compare" -s v -l verbose -d 'More log output (-v debug, -vv trace)'
complete -c altroot -n "__fish_altroot_using_subcommand compare" -s q -l quiet -d 'Less log output (warnings and errors only)'
complete -c altroot -n "__fish_altroot_using_subcommand compare" -s h -l help -d 'Print help'
complete -c altroot -n "__fish_altroot_using_subcommand config; and not __fish_seen_subcommand_from recipes help" -s v -l verbose -d 'More log output (-v debug, -vv trace)'
complete -c altroot -n "__fish_altroot_using_subcommand config; and not __fish_seen_subcommand_from recipes help" -s q -l quiet -d 'Less log output (warnings and errors only)'
complete -c altroot -n "__fish_altroot_using_subcommand config; and not __fish_seen_subcommand_from recipes help" -s h -l help -d 'Print help'
complete -c altroot -n "__fish_altroot_using_subcommand config; and not __fish_seen_subcommand_from recipes help" -f -a "recipes" -d 'The config\'s alternate TLDs as resolv.conf, systemd-resolved, NetworkManager, Unbound, dnsmasq, macOS and Windows snippets'
complete -c altroot -n "__fish_altroot_using_subcommand config; and not __fish_seen_subcommand_from recipes help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c altroot -n "__fish_altroot_using_subcommand config; and __fish_seen_subcommand_from recipes" -s c -l config -d 'Config file [default: config/altroot.toml in the current folder]' -r -F
complete -c altroot -n "__fish_altroot_using_subcommand config; and __fish_seen_subcommand_from recipes" -l system -d 'Print only this system\'s snippet' -r -f -a "resolv-conf\t'/etc/resolv.conf: every name through altroot (port 53 only)'
netns\t'/etc/netns/NAME/resolv.conf: the same for one network namespace'
systemd-resolved\t'systemd-resolved: every name through altroot'
systemd-resolved-split\t'systemd-resolved: only the alternate TLDs'
networkmanager\t'NetworkManager with its dnsmasq plugin: only the alternate TLDs'
unbound\t'Unbound in front: forward-zone per alternate TLD'
dnsmasq\t'dnsmasq in front: server=/tld/ per alternate TLD'
macos\t'macOS: /etc/resolver/TLD per alternate TLD'
windows\t'Windows: one NRPT rule per alternate TLD (PowerShell)'"
complete -c altroot -n "__fish_altroot_using_subcommand config; and __fish_seen_subcommand_from recipes" -s v -l verbose -d 'More log output (-v debug, -vv trace)'
complete -c altroot -n "__fish_altroot_using_subcommand config; and __fish_seen_subcommand_from recipes" -s q -l quiet -d 'Less log output (warnings and errors only)'
complete -c altroot -n "__fish_altroot_using_subcommand config; and __fish_seen_subcommand_from recipes" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c altroot -n "__fish_altroot_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "recipes" -d 'The config\'s alternate TLDs as resolv.conf, systemd-resolved, NetworkManager, Unbound, dnsmasq, macOS and Windows snippets'
complete -c altroot -n "__fish_altroot_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c altroot -n "__fish_altroot_using_subcommand collisions" -s c -l config -d 'Config file [default: config/altroot.toml in the current folder]' -r -F
complete -c altroot -n "__fish_altroot_using_subcommand collisions" -l json -d 'One JSON object per line'
complete -c altroot -n "__fish_altroot_using_subcommand collisions" -l offline -d 'Ask no server: a root on the built-in hints answers from the bundled ICANN TLD list, other network roots stay unknown'
complete -c altroot -n "__fish_altroot_using_subcommand collisions" -s v -l verbose -d 'More log output (-v debug, -vv trace)'
complete -c altroot -n "__fish_altroot_using_subcommand collisions" -s q -l quiet -d 'Less log output (warnings and errors only)'
complete -c altroot -n "__fish_altroot_using_subcommand collisions" -s h -l help -d 'Print help'
complete -c altroot -n "__fish_altroot_using_subcommand keygen" -s c -l config -d 'Config file [default: config/altroot.toml in the current folder]' -r -F
complete -c altroot -n "__fish_altroot_using_subcommand keygen" -l root -d 'The zones root to sign (its name in the config)' -r
complete -c altroot -n "__fish_altroot_using_subcommand keygen" -l algorithm -d 'Key algorithm' -r -f -a "ecdsap256\t'ECDSA P-256 with SHA-256 (algorithm 13), the default'
ed25519\t'Ed25519 (algorithm 15)'"
complete -c altroot -n "__fish_altroot_using_subcommand keygen" -l force -d 'Replace existing keys (every validator then needs the new DS)'
complete -c altroot -n "__fish_altroot_using_subcommand keygen" -s v -l verbose -d 'More log output (-v debug, -vv trace)'
complete -c altroot -n "__fish_altroot_using_subcommand keygen" -s q -l quiet -d 'Less log output (warnings and errors only)'
complete -c altroot -n "__fish_altroot_using_subcommand keygen" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c altroot -n "__fish_altroot_using_subcommand ds" -s c -l config -d 'Config file [default: config/altroot.toml in the current folder]' -r -F
complete -c altroot -n "__fish_altroot_using_subcommand ds" -l root -d 'The zones root (its name in the config)' -r
complete -c altroot -n "__fish_altroot_using_subcommand ds" -l format -d 'What to print' -r -f -a "all\t'Every form below, each under a comment'
zone\t'DS and DNSKEY records in master-file form (a trust-anchors file)'
unbound\t'Unbound\'s `trust-anchor:` lines (server: clause)'
bind\t'BIND\'s `trust-anchors { };` clause (named.conf)'"
complete -c altroot -n "__fish_altroot_using_subcommand ds" -s v -l verbose -d 'More log output (-v debug, -vv trace)'
complete -c altroot -n "__fish_altroot_using_subcommand ds" -s q -l quiet -d 'Less log output (warnings and errors only)'
complete -c altroot -n "__fish_altroot_using_subcommand ds" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c altroot -n "__fish_altroot_using_subcommand completions" -s v -l verbose -d 'More log output (-v debug, -vv trace)'
complete -c altroot -n "__fish_altroot_using_subcommand completions" -s q -l quiet -d 'Less log output (warnings and errors only)'
complete -c altroot -n "__fish_altroot_using_subcommand completions" -s h -l help -d 'Print help'
complete -c altroot -n "__fish_altroot_using_subcommand manpages" -s v -l verbose -d 'More log output (-v debug, -vv trace)'
complete -c altroot -n "__fish_altroot_using_subcommand manpages" -s q -l quiet -d 'Less log output (warnings and errors only)'
complete -c altroot -n "__fish_altroot_using_subcommand manpages" -s h -l help -d 'Print help'
complete -c altroot -n "__fish_altroot_using_subcommand help; and not __fish_seen_subcommand_from serve check compare config collisions keygen ds completions manpages help" -f -a "serve" -d 'Run the resolver'
complete -c altroot -n "__fish_altroot_using_subcommand help; and not __fish_seen_subcommand_from serve check compare config collisions keygen ds completions manpages help" -f -a "check" -d 'Validate the config and every zone; no network'
complete -c altroot -n "__fish_altroot_using_subcommand help; and not __fish_seen_subcommand_from serve check compare config collisions keygen ds completions manpages help" -f -a "compare" -d 'Ask every root the same questions and show where they disagree'
complete -c altroot -n "__fish_altroot_using_subcommand help; and not __fish_seen_subcommand_from serve check compare config collisions keygen ds completions manpages help" -f -a "config" -d 'Print snippets that point a machine, or its resolver, at altroot'
complete -c altroot -n "__fish_altroot_using_subcommand help; and not __fish_seen_subcommand_from serve check compare config collisions keygen ds completions manpages help" -f -a "collisions" -d 'TLDs that more than one root has, and which root wins'
complete -c altroot -n "__fish_altroot_using_subcommand help; and not __fish_seen_subcommand_from serve check compare config collisions keygen ds completions manpages help" -f -a "keygen" -d 'Make the KSK and ZSK that sign a zones root (in its zones folder\'s keys/)'
complete -c altroot -n "__fish_altroot_using_subcommand help; and not __fish_seen_subcommand_from serve check compare config collisions keygen ds completions manpages help" -f -a "ds" -d 'Print the DS and DNSKEY of a signed zones root, for validators'
complete -c altroot -n "__fish_altroot_using_subcommand help; and not __fish_seen_subcommand_from serve check compare config collisions keygen ds completions manpages help" -f -a "completions" -d 'Print the shell completion script for bash, zsh, fish, elvish or PowerShell'
complete -c altroot -n "__fish_altroot_using_subcommand help; and not __fish_seen_subcommand_from serve check compare config collisions keygen ds completions manpages help" -f -a "manpages" -d 'Write the man pages (altroot(8), one per command, altroot.toml(5)) into a man tree'
complete -c altroot -n "__fish_altroot_using_subcommand help; and not __fish_seen_subcommand_from serve check compare config collisions keygen ds completions manpages help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c altroot -n "__fish_altroot_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "recipes" -d 'The config\'s alternate TLDs as resolv.conf, systemd-resolved, NetworkManager, Unbound, dnsmasq, macOS and Windows snippets'
