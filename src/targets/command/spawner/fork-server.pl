# wstcp's fork server: starts the programs of WebSocket sessions for the wstcp process that runs it
# (fork-server.ts). Perl because perl-base is part of every Debian system and a Perl process is small:
# forking it costs a fraction of forking Node (docs/performance.md, "Command targets").
#
# It runs only what wstcp asks for (wstcp only asks for commands from its own command line). Requests come
# on stdin, answers go to stdout, one program at a time:
#
#   request  "<length>\n" then <length> bytes: id, file, argument count, arguments, variable count and
#            NAME=value variables, separated by NUL bytes (which no argument or variable can contain);
#   answers  "started <id> <pid>\n"            the program runs (exec succeeded);
#            "failed <id> <errno>\n"           it could not be started (errno as a number);
#            "exited <id> <code> <signal>\n"   it was reaped (code or signal is "-").
#
# A program's stdin, stdout and stderr are connections to wstcp's private unix socket (the first argument),
# each opened by the child before it execs and introduced by "<secret> <id> <fd>\n" (the secret comes in
# WSTCP_FORK_SECRET and is no program's business). The child leads a process group of its own (setsid):
# wstcp signals programs by group. This process ends when wstcp closes its stdin, or when wstcp is gone;
# then it removes the door's socket and directory, if wstcp has not.
use strict;
use warnings;
use POSIX ();
use Socket qw(AF_UNIX SOCK_STREAM pack_sockaddr_un);

my $socket_path = $ARGV[0] // die "usage: fork-server.pl SOCKET\n";
my $secret = delete $ENV{WSTCP_FORK_SECRET} // die "WSTCP_FORK_SECRET is not set\n";
my $address = pack_sockaddr_un($socket_path);

# pid -> id of the programs not yet reaped.
my %running;
# pid -> status of programs reaped before start() knew their pid (a SIGCHLD that came earlier may be
# handled between fork() and the line that records it).
my %reaped_early;

# Terminal and service signals are wstcp's to handle (it ends its programs first, then this process).
# Caught, not ignored: a program must not inherit an ignored SIGINT or SIGTERM.
$SIG{$_} = sub { } for qw(INT TERM HUP QUIT);
# An answer to a wstcp that is gone fails with EPIPE instead of killing this process before it can leave.
# Programs get the default back before they exec.
$SIG{PIPE} = 'IGNORE';
$SIG{CHLD} = \&reap;

# wstcp closed the channel, or died (its programs are its to end, by group). Whichever fork server leaves
# first takes the door with it: after a crash of wstcp nothing else would.
sub leave {
    unlink $socket_path;
    (my $door_dir = $socket_path) =~ s{/[^/]*$}{};
    rmdir $door_dir;
    POSIX::_exit(0);
}

sub answer {
    my ($line) = @_;
    my $written = syswrite(STDOUT, $line);
    leave() unless defined $written && $written == length $line;
}

sub reap {
    # A handler runs between any two statements: what they were looking at stays as it was.
    local ($!, $?);
    while ((my $pid = waitpid(-1, POSIX::WNOHANG())) > 0) {
        my $id = delete $running{$pid};
        if (defined $id) {
            exited($id, $?);
        } else {
            $reaped_early{$pid} = $?;
        }
    }
}

sub exited {
    my ($id, $status) = @_;
    my ($code, $signal) = ($status & 127) ? ('-', $status & 127) : ($status >> 8, '-');
    answer("exited $id $code $signal\n");
}

# In the child: fails the start with errno `$error` (written to the parent's status pipe) and leaves.
sub give_up {
    my ($status, $error) = @_;
    syswrite($status, 0 + $error);
    POSIX::_exit(127);
}

sub run_child {
    my ($id, $file, $args, $env, $status) = @_;
    POSIX::setsid();
    for my $fd (0, 1, 2) {
        socket(my $connection, AF_UNIX, SOCK_STREAM, 0) or give_up($status, $!);
        connect($connection, $address) or give_up($status, $!);
        my $header = "$secret $id $fd\n";
        syswrite($connection, $header) == length $header or give_up($status, $!);
        defined POSIX::dup2(fileno($connection), $fd) or give_up($status, $!);
    }
    $SIG{$_} = 'DEFAULT' for qw(INT TERM HUP QUIT CHLD PIPE);
    %ENV = %$env;
    { exec { $file } $file, @$args; }
    give_up($status, $!);
}

sub start {
    my ($id, $file, $args, $env) = @_;
    # Close-on-exec (as every descriptor Perl opens above 2): it reads end-of-file once the exec succeeded.
    pipe(my $status_in, my $status_out) or return answer("failed $id " . (0 + $!) . "\n");
    my $pid = fork();
    return answer("failed $id " . (0 + $!) . "\n") unless defined $pid;
    run_child($id, $file, $args, $env, $status_out) if $pid == 0;
    close $status_out;
    my $error = '';
    while (1) {
        my $read = sysread($status_in, $error, 16, length $error);
        last if defined $read && $read == 0;
        last unless defined $read || $!{EINTR};
    }
    close $status_in;
    if ($error ne '') {
        waitpid($pid, 0) unless exists $reaped_early{$pid};
        delete $reaped_early{$pid};
        return answer("failed $id $error\n");
    }
    answer("started $id $pid\n");
    if (exists $reaped_early{$pid}) {
        exited($id, delete $reaped_early{$pid});
    } else {
        $running{$pid} = $id;
    }
}

sub request {
    my ($payload) = @_;
    my @fields = split /\0/, $payload, -1;
    my $id = shift @fields;
    my $file = shift @fields;
    my $argc = shift @fields;
    my @args = splice @fields, 0, $argc;
    my $count = shift @fields;
    my %env;
    for my $variable (@fields[0 .. $count - 1]) {
        my ($name, $value) = split /=/, $variable, 2;
        $env{$name} = $value;
    }
    start($id, $file, \@args, \%env);
}

my $buffer = '';
while (1) {
    my $read = sysread(STDIN, $buffer, 65536, length $buffer);
    if (!defined $read) {
        next if $!{EINTR};
        last;
    }
    last if $read == 0;
    while ($buffer =~ /^(\d+)\n/ && length($buffer) >= length($1) + 1 + $1) {
        my $length = $1;
        my $payload = substr($buffer, length($length) + 1, $length);
        substr($buffer, 0, length($length) + 1 + $length) = '';
        request($payload);
    }
}
leave();
