# A Perl pre-fork pool for the corpus: WORKERS forked workers each flock() LOCKFILE (a session
# file) and then sleep in select() for an hour while holding it (a holder that is slow, not
# blocked on anything: the others queue behind it).
# Usage: perl slowholder.pl LOCKFILE WORKERS [--tag T]. Prints "mark locked PID", "ready".
use strict; use warnings; use Fcntl qw(:flock); use IO::Handle;
my ($lockfile, $workers) = @ARGV;
STDOUT->autoflush(1);
pipe(my $r, my $w) or die "pipe: $!";
for (1 .. $workers) {
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        close $r;
        open(my $fh, '>>', $lockfile) or die "open: $!";
        flock($fh, LOCK_EX) or die "flock: $!";
        syswrite($w, "mark locked $$\n");
        select(undef, undef, undef, 3600);
        exit 0;
    }
    print "mark worker $pid\n";
}
close $w;
my $line = <$r>;
print $line;
print "ready\n";
1 while wait() != -1;
