# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_listcrypt_global_optspecs
    string join \n home= v/verbose q/quiet h/help V/version
end

function __fish_listcrypt_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_listcrypt_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_listcrypt_using_subcommand
    set -l cmd (__fish_listcrypt_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c listcrypt -n "__fish_listcrypt_needs_command" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_needs_command" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_needs_command" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c listcrypt -n "__fish_listcrypt_needs_command" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_needs_command" -f -a "list" -d 'Create, inspect, configure and delete lists'
complete -c listcrypt -n "__fish_listcrypt_needs_command" -f -a "members" -d 'Add, remove and list members'
complete -c listcrypt -n "__fish_listcrypt_needs_command" -f -a "keys" -d 'Manage members\' keys'
complete -c listcrypt -n "__fish_listcrypt_needs_command" -f -a "inject" -d 'Queue one message from standard input (run by the MTA)'
complete -c listcrypt -n "__fish_listcrypt_needs_command" -f -a "verify" -d 'Check signatures and rules of incoming entries; prints approved ids'
complete -c listcrypt -n "__fish_listcrypt_needs_command" -f -a "distribute" -d 'Sign, encrypt per subscriber and send approved entries; prints finished ids'
complete -c listcrypt -n "__fish_listcrypt_needs_command" -f -a "flush" -d 'Verify and distribute everything pending, retry failures, expire old entries'
complete -c listcrypt -n "__fish_listcrypt_needs_command" -f -a "bounce" -d 'Count a delivery status notification from standard input against its member'
complete -c listcrypt -n "__fish_listcrypt_needs_command" -f -a "owner" -d 'Forward mail to LIST-owner from standard input to the admins, encrypted (run by the MTA)'
complete -c listcrypt -n "__fish_listcrypt_needs_command" -f -a "receive" -d 'Deliver one message from standard input to whichever list address RECIPIENT is (a pipe transport)'
complete -c listcrypt -n "__fish_listcrypt_needs_command" -f -a "mta" -d 'Wire listcrypt into the MTA'
complete -c listcrypt -n "__fish_listcrypt_needs_command" -f -a "doctor" -d 'Check the installation: homes, keys, agent, transport, MTA wiring, schedule, queue'
complete -c listcrypt -n "__fish_listcrypt_needs_command" -f -a "queue" -d 'See and steer what waits in a list\'s queue'
complete -c listcrypt -n "__fish_listcrypt_needs_command" -f -a "generate-docs" -d 'Write the man pages and shell completions into DIR/man and DIR/completions'
complete -c listcrypt -n "__fish_listcrypt_needs_command" -f -a "seal-helper" -d 'Internal: seals challenges for `members import`, which starts it'
complete -c listcrypt -n "__fish_listcrypt_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and not __fish_seen_subcommand_from create ls show set delete unlock extend-key wkd export-key import-schleuder help" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and not __fish_seen_subcommand_from create ls show set delete unlock extend-key wkd export-key import-schleuder help" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and not __fish_seen_subcommand_from create ls show set delete unlock extend-key wkd export-key import-schleuder help" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and not __fish_seen_subcommand_from create ls show set delete unlock extend-key wkd export-key import-schleuder help" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and not __fish_seen_subcommand_from create ls show set delete unlock extend-key wkd export-key import-schleuder help" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and not __fish_seen_subcommand_from create ls show set delete unlock extend-key wkd export-key import-schleuder help" -f -a "create" -d 'Create a list with its own key pair and first admin'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and not __fish_seen_subcommand_from create ls show set delete unlock extend-key wkd export-key import-schleuder help" -f -a "ls" -d 'List every list with its key and member count'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and not __fish_seen_subcommand_from create ls show set delete unlock extend-key wkd export-key import-schleuder help" -f -a "show" -d 'Show a list\'s key, admins and every setting'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and not __fish_seen_subcommand_from create ls show set delete unlock extend-key wkd export-key import-schleuder help" -f -a "set" -d 'Change a setting (see `list show` for names and values)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and not __fish_seen_subcommand_from create ls show set delete unlock extend-key wkd export-key import-schleuder help" -f -a "delete" -d 'Delete a list, its keys, members and queue'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and not __fish_seen_subcommand_from create ls show set delete unlock extend-key wkd export-key import-schleuder help" -f -a "unlock" -d 'Give gpg-agent the list key\'s passphrase (read from stdin or the terminal)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and not __fish_seen_subcommand_from create ls show set delete unlock extend-key wkd export-key import-schleuder help" -f -a "extend-key" -d 'Extend the list key\'s expiry and send members the refreshed key'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and not __fish_seen_subcommand_from create ls show set delete unlock extend-key wkd export-key import-schleuder help" -f -a "wkd" -d 'Publish the list key in a Web Key Directory (files for the web server)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and not __fish_seen_subcommand_from create ls show set delete unlock extend-key wkd export-key import-schleuder help" -f -a "export-key" -d 'Print the list\'s public key, armored'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and not __fish_seen_subcommand_from create ls show set delete unlock extend-key wkd export-key import-schleuder help" -f -a "import-schleuder" -d 'Move a Schleuder list here: the same address and key pair, its members, keys and settings'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and not __fish_seen_subcommand_from create ls show set delete unlock extend-key wkd export-key import-schleuder help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from create" -l admin -d 'The first admin\'s address' -r
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from create" -l key-file -d 'The list\'s secret key (armored or binary), exported with `gpg --export-secret-keys`' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from create" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from create" -l generate -d 'Make a new unprotected key pair instead (tests and small set-ups)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from create" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from ls" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from ls" -l json -d 'Print JSON for scripts instead of text'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from ls" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from show" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from show" -l json -d 'Print JSON for scripts instead of text'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from set" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from set" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from set" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from delete" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from delete" -l yes -d 'Confirm: deleting cannot be undone'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from delete" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from unlock" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from unlock" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from unlock" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from unlock" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from unlock" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from extend-key" -l days -d 'The new lifetime, in days from now' -r
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from extend-key" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from extend-key" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from extend-key" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from extend-key" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from extend-key" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from wkd" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from wkd" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from wkd" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from wkd" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from wkd" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from export-key" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from export-key" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from export-key" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from export-key" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from export-key" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from import-schleuder" -l schleuder-db -d 'Schleuder\'s database' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from import-schleuder" -l schleuder-lists-dir -d 'Schleuder\'s lists_dir, which holds each list\'s GnuPG home as DOMAIN/LOCAL' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from import-schleuder" -l transport -d 'The new list\'s transport, as `list set` takes it (default: sendmail)' -r
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from import-schleuder" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from import-schleuder" -l dry-run -d 'Print the whole plan and change nothing'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from import-schleuder" -l skip-unusable-keys -d 'Import the members whose keys listcrypt takes and name the others, instead of refusing'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from import-schleuder" -l notify -d 'Send each member one notice, encrypted and signed by the list, that the list moved'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from import-schleuder" -l json -d 'Print JSON for scripts instead of text'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from import-schleuder" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from import-schleuder" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from import-schleuder" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from import-schleuder" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a list with its own key pair and first admin'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List every list with its key and member count'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show a list\'s key, admins and every setting'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from help" -f -a "set" -d 'Change a setting (see `list show` for names and values)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete a list, its keys, members and queue'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from help" -f -a "unlock" -d 'Give gpg-agent the list key\'s passphrase (read from stdin or the terminal)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from help" -f -a "extend-key" -d 'Extend the list key\'s expiry and send members the refreshed key'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from help" -f -a "wkd" -d 'Publish the list key in a Web Key Directory (files for the web server)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from help" -f -a "export-key" -d 'Print the list\'s public key, armored'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from help" -f -a "import-schleuder" -d 'Move a Schleuder list here: the same address and key pair, its members, keys and settings'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand list; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and not __fish_seen_subcommand_from add import remove ls help" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and not __fish_seen_subcommand_from add import remove ls help" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and not __fish_seen_subcommand_from add import remove ls help" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and not __fish_seen_subcommand_from add import remove ls help" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and not __fish_seen_subcommand_from add import remove ls help" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and not __fish_seen_subcommand_from add import remove ls help" -f -a "add" -d 'Add a member with their public key; sends a welcome and a key challenge'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and not __fish_seen_subcommand_from add import remove ls help" -f -a "import" -d 'Add many members at once from a keyring file or a folder of key files'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and not __fish_seen_subcommand_from add import remove ls help" -f -a "remove" -d 'Remove a member and their keys'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and not __fish_seen_subcommand_from add import remove ls help" -f -a "ls" -d 'List members, their role and whether they can receive posts'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and not __fish_seen_subcommand_from add import remove ls help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from add" -l key-file -d 'The member\'s public key, armored or binary' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from add" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from add" -l admin -d 'Make the member an admin (receives notices)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from add" -l allow-look-alike -d 'Accept an address whose domain mixes Latin with Greek or Cyrillic letters'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from add" -l no-challenge -d 'Mark the key verified at once, without a challenge: only after checking its fingerprint with its holder (a migration, a key-signing party). The log and `keys ls` say it was vouched for'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from add" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from import" -l addresses -d 'Which address each key is for: lines `ADDRESS FINGERPRINT`' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from import" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from import" -l no-challenge -d 'Mark the key verified at once, without a challenge: only after checking its fingerprint with its holder (a migration, a key-signing party). The log and `keys ls` say it was vouched for'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from import" -l json -d 'Print JSON for scripts instead of text'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from import" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from import" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from import" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from remove" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from ls" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from ls" -l json -d 'Print JSON for scripts instead of text'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from ls" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a member with their public key; sends a welcome and a key challenge'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from help" -f -a "import" -d 'Add many members at once from a keyring file or a folder of key files'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a member and their keys'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List members, their role and whether they can receive posts'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand members; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and not __fish_seen_subcommand_from add verify remove check ls help" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and not __fish_seen_subcommand_from add verify remove check ls help" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and not __fish_seen_subcommand_from add verify remove check ls help" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and not __fish_seen_subcommand_from add verify remove check ls help" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and not __fish_seen_subcommand_from add verify remove check ls help" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and not __fish_seen_subcommand_from add verify remove check ls help" -f -a "add" -d 'Register another key for a member; sends a challenge encrypted to it'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and not __fish_seen_subcommand_from add verify remove check ls help" -f -a "verify" -d 'Mark a pending key verified with the token from its challenge'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and not __fish_seen_subcommand_from add verify remove check ls help" -f -a "remove" -d 'Remove one key of a member'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and not __fish_seen_subcommand_from add verify remove check ls help" -f -a "check" -d 'Warn members whose keys expire soon; tell admins who cannot receive (run daily)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and not __fish_seen_subcommand_from add verify remove check ls help" -f -a "ls" -d 'List keys, of one member or of all'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and not __fish_seen_subcommand_from add verify remove check ls help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from add" -l key-file -d 'The public key, armored or binary' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from add" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from add" -l no-challenge -d 'Mark the key verified at once, without a challenge: only after checking its fingerprint with its holder (a migration, a key-signing party). The log and `keys ls` say it was vouched for'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from add" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from verify" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from verify" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from verify" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from remove" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from check" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from check" -l json -d 'Print JSON for scripts instead of text'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from check" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from check" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from check" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from ls" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from ls" -l json -d 'Print JSON for scripts instead of text'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from ls" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "add" -d 'Register another key for a member; sends a challenge encrypted to it'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Mark a pending key verified with the token from its challenge'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove one key of a member'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "check" -d 'Warn members whose keys expire soon; tell admins who cannot receive (run daily)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List keys, of one member or of all'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand inject" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand inject" -l request -d 'The mail went to the list\'s -request address: commands, not a post'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand inject" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand inject" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand inject" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand inject" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand verify" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand verify" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand verify" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand verify" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand verify" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand distribute" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand distribute" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand distribute" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand distribute" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand distribute" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand flush" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand flush" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand flush" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand flush" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand flush" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand bounce" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand bounce" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand bounce" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand bounce" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand bounce" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand owner" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand owner" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand owner" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand owner" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand owner" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand receive" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand receive" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand receive" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand receive" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand receive" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand mta; and not __fish_seen_subcommand_from postfix maps help" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand mta; and not __fish_seen_subcommand_from postfix maps help" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand mta; and not __fish_seen_subcommand_from postfix maps help" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand mta; and not __fish_seen_subcommand_from postfix maps help" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand mta; and not __fish_seen_subcommand_from postfix maps help" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand mta; and not __fish_seen_subcommand_from postfix maps help" -f -a "postfix" -d 'Print the Postfix main.cf and master.cf lines for this home (both recipes)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand mta; and not __fish_seen_subcommand_from postfix maps help" -f -a "maps" -d 'Rewrite HOME/aliases and HOME/recipients (list create and delete do it too)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand mta; and not __fish_seen_subcommand_from postfix maps help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand mta; and __fish_seen_subcommand_from postfix" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand mta; and __fish_seen_subcommand_from postfix" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand mta; and __fish_seen_subcommand_from postfix" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand mta; and __fish_seen_subcommand_from postfix" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand mta; and __fish_seen_subcommand_from postfix" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand mta; and __fish_seen_subcommand_from maps" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand mta; and __fish_seen_subcommand_from maps" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand mta; and __fish_seen_subcommand_from maps" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand mta; and __fish_seen_subcommand_from maps" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand mta; and __fish_seen_subcommand_from maps" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand mta; and __fish_seen_subcommand_from help" -f -a "postfix" -d 'Print the Postfix main.cf and master.cf lines for this home (both recipes)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand mta; and __fish_seen_subcommand_from help" -f -a "maps" -d 'Rewrite HOME/aliases and HOME/recipients (list create and delete do it too)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand mta; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand doctor" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand doctor" -l json -d 'Print JSON for scripts instead of text'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand doctor" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand doctor" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and not __fish_seen_subcommand_from ls show release discard help" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and not __fish_seen_subcommand_from ls show release discard help" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and not __fish_seen_subcommand_from ls show release discard help" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and not __fish_seen_subcommand_from ls show release discard help" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and not __fish_seen_subcommand_from ls show release discard help" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and not __fish_seen_subcommand_from ls show release discard help" -f -a "ls" -d 'List entries with their stage, age, attempts and last error'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and not __fish_seen_subcommand_from ls show release discard help" -f -a "show" -d 'Decrypt an entry and show it (at a terminal only)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and not __fish_seen_subcommand_from ls show release discard help" -f -a "release" -d 'Approve a held entry and send it through verify and distribute'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and not __fish_seen_subcommand_from ls show release discard help" -f -a "discard" -d 'Drop an entry'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and not __fish_seen_subcommand_from ls show release discard help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from ls" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from ls" -l json -d 'Print JSON for scripts instead of text'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from ls" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from show" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from release" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from release" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from release" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from release" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from release" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from discard" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from discard" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from discard" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from discard" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from discard" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List entries with their stage, age, attempts and last error'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from help" -f -a "show" -d 'Decrypt an entry and show it (at a terminal only)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from help" -f -a "release" -d 'Approve a held entry and send it through verify and distribute'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from help" -f -a "discard" -d 'Drop an entry'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand queue; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand generate-docs" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand generate-docs" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand generate-docs" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand generate-docs" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand generate-docs" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand seal-helper" -l home -d 'The folder that holds every list' -r -F
complete -c listcrypt -n "__fish_listcrypt_using_subcommand seal-helper" -s v -l verbose -d 'Say more on stderr'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand seal-helper" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand seal-helper" -s h -l help -d 'Print help'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand seal-helper" -s V -l version -d 'Print version'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and not __fish_seen_subcommand_from list members keys inject verify distribute flush bounce owner receive mta doctor queue generate-docs seal-helper help" -f -a "list" -d 'Create, inspect, configure and delete lists'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and not __fish_seen_subcommand_from list members keys inject verify distribute flush bounce owner receive mta doctor queue generate-docs seal-helper help" -f -a "members" -d 'Add, remove and list members'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and not __fish_seen_subcommand_from list members keys inject verify distribute flush bounce owner receive mta doctor queue generate-docs seal-helper help" -f -a "keys" -d 'Manage members\' keys'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and not __fish_seen_subcommand_from list members keys inject verify distribute flush bounce owner receive mta doctor queue generate-docs seal-helper help" -f -a "inject" -d 'Queue one message from standard input (run by the MTA)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and not __fish_seen_subcommand_from list members keys inject verify distribute flush bounce owner receive mta doctor queue generate-docs seal-helper help" -f -a "verify" -d 'Check signatures and rules of incoming entries; prints approved ids'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and not __fish_seen_subcommand_from list members keys inject verify distribute flush bounce owner receive mta doctor queue generate-docs seal-helper help" -f -a "distribute" -d 'Sign, encrypt per subscriber and send approved entries; prints finished ids'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and not __fish_seen_subcommand_from list members keys inject verify distribute flush bounce owner receive mta doctor queue generate-docs seal-helper help" -f -a "flush" -d 'Verify and distribute everything pending, retry failures, expire old entries'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and not __fish_seen_subcommand_from list members keys inject verify distribute flush bounce owner receive mta doctor queue generate-docs seal-helper help" -f -a "bounce" -d 'Count a delivery status notification from standard input against its member'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and not __fish_seen_subcommand_from list members keys inject verify distribute flush bounce owner receive mta doctor queue generate-docs seal-helper help" -f -a "owner" -d 'Forward mail to LIST-owner from standard input to the admins, encrypted (run by the MTA)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and not __fish_seen_subcommand_from list members keys inject verify distribute flush bounce owner receive mta doctor queue generate-docs seal-helper help" -f -a "receive" -d 'Deliver one message from standard input to whichever list address RECIPIENT is (a pipe transport)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and not __fish_seen_subcommand_from list members keys inject verify distribute flush bounce owner receive mta doctor queue generate-docs seal-helper help" -f -a "mta" -d 'Wire listcrypt into the MTA'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and not __fish_seen_subcommand_from list members keys inject verify distribute flush bounce owner receive mta doctor queue generate-docs seal-helper help" -f -a "doctor" -d 'Check the installation: homes, keys, agent, transport, MTA wiring, schedule, queue'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and not __fish_seen_subcommand_from list members keys inject verify distribute flush bounce owner receive mta doctor queue generate-docs seal-helper help" -f -a "queue" -d 'See and steer what waits in a list\'s queue'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and not __fish_seen_subcommand_from list members keys inject verify distribute flush bounce owner receive mta doctor queue generate-docs seal-helper help" -f -a "generate-docs" -d 'Write the man pages and shell completions into DIR/man and DIR/completions'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and not __fish_seen_subcommand_from list members keys inject verify distribute flush bounce owner receive mta doctor queue generate-docs seal-helper help" -f -a "seal-helper" -d 'Internal: seals challenges for `members import`, which starts it'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and not __fish_seen_subcommand_from list members keys inject verify distribute flush bounce owner receive mta doctor queue generate-docs seal-helper help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from list" -f -a "create" -d 'Create a list with its own key pair and first admin'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from list" -f -a "ls" -d 'List every list with its key and member count'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from list" -f -a "show" -d 'Show a list\'s key, admins and every setting'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from list" -f -a "set" -d 'Change a setting (see `list show` for names and values)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from list" -f -a "delete" -d 'Delete a list, its keys, members and queue'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from list" -f -a "unlock" -d 'Give gpg-agent the list key\'s passphrase (read from stdin or the terminal)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from list" -f -a "extend-key" -d 'Extend the list key\'s expiry and send members the refreshed key'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from list" -f -a "wkd" -d 'Publish the list key in a Web Key Directory (files for the web server)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from list" -f -a "export-key" -d 'Print the list\'s public key, armored'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from list" -f -a "import-schleuder" -d 'Move a Schleuder list here: the same address and key pair, its members, keys and settings'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from members" -f -a "add" -d 'Add a member with their public key; sends a welcome and a key challenge'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from members" -f -a "import" -d 'Add many members at once from a keyring file or a folder of key files'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from members" -f -a "remove" -d 'Remove a member and their keys'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from members" -f -a "ls" -d 'List members, their role and whether they can receive posts'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "add" -d 'Register another key for a member; sends a challenge encrypted to it'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "verify" -d 'Mark a pending key verified with the token from its challenge'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "remove" -d 'Remove one key of a member'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "check" -d 'Warn members whose keys expire soon; tell admins who cannot receive (run daily)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "ls" -d 'List keys, of one member or of all'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from mta" -f -a "postfix" -d 'Print the Postfix main.cf and master.cf lines for this home (both recipes)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from mta" -f -a "maps" -d 'Rewrite HOME/aliases and HOME/recipients (list create and delete do it too)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from queue" -f -a "ls" -d 'List entries with their stage, age, attempts and last error'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from queue" -f -a "show" -d 'Decrypt an entry and show it (at a terminal only)'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from queue" -f -a "release" -d 'Approve a held entry and send it through verify and distribute'
complete -c listcrypt -n "__fish_listcrypt_using_subcommand help; and __fish_seen_subcommand_from queue" -f -a "discard" -d 'Drop an entry'
