<?php
// Two ways to PUT an object on storage nodes with ext/sockets: the incident's (blocking, one
// node after another, trusts its writes) and the fixed one (non-blocking, all nodes at once,
// one deadline, an ack counts only if it carries the sha256 of what was sent).
declare(strict_types=1);

const FL_EINPROGRESS = 115;
const FL_EAGAIN = 11;
const FL_EINTR = 4;
const FL_CHUNK = 262144;

/** Resolves "host:port" to [ip, port], or a reason string. */
function fl_resolve(string $addr): array|string
{
    [$host, $port] = fl_split_addr($addr);
    $ip = filter_var($host, FILTER_VALIDATE_IP) ? $host : gethostbyname($host);
    if (!filter_var($ip, FILTER_VALIDATE_IP, FILTER_FLAG_IPV4)) {
        return "cannot resolve $host";
    }
    return [$ip, $port];
}

function fl_socket_error(\Socket $s): string
{
    $code = socket_last_error($s);
    socket_clear_error($s);
    return socket_strerror($code) . " ($code)";
}

/**
 * The incident's client: blocking ext/sockets. With $opTimeoutMs = 0 nothing is bounded (a node
 * that stops reading blocks socket_write() for ever, a silent one blocks socket_read()); with
 * a value, SO_SNDTIMEO/SO_RCVTIMEO bound each call, which restarts on every partial write, so
 * a trickling node never trips it and slow nodes add up.
 * The bug kept on purpose: once every byte is written the node counts as acknowledged, whatever
 * (if anything) it answers. Returns ['acked' => bool, 'reply' => ?string, 'error' => ?string].
 */
function fl_put_incident(string $addr, string $key, string $body, int $opTimeoutMs): array
{
    $target = fl_resolve($addr);
    if (is_string($target)) {
        return ['acked' => false, 'reply' => null, 'error' => $target];
    }
    [$ip, $port] = $target;
    $s = socket_create(AF_INET, SOCK_STREAM, SOL_TCP);
    if ($opTimeoutMs > 0) {
        $tv = ['sec' => intdiv($opTimeoutMs, 1000), 'usec' => ($opTimeoutMs % 1000) * 1000];
        // On Linux SO_SNDTIMEO also bounds connect().
        socket_set_option($s, SOL_SOCKET, SO_SNDTIMEO, $tv);
        socket_set_option($s, SOL_SOCKET, SO_RCVTIMEO, $tv);
    }
    if (!@socket_connect($s, $ip, $port)) {
        $err = 'connect: ' . fl_socket_error($s);
        socket_close($s);
        return ['acked' => false, 'reply' => null, 'error' => $err];
    }
    $data = "PUT $key " . strlen($body) . "\n" . $body;
    $total = strlen($data);
    for ($off = 0; $off < $total;) {
        $n = @socket_write($s, substr($data, $off, FL_CHUNK));
        if ($n === false) {
            $err = "write after $off/$total bytes: " . fl_socket_error($s);
            socket_close($s);
            return ['acked' => false, 'reply' => null, 'error' => $err];
        }
        $off += $n;
    }
    // Every byte left this process: "stored". The answer is read but not checked.
    $line = @socket_read($s, 256, PHP_NORMAL_READ);
    socket_close($s);
    return ['acked' => true, 'reply' => ($line === false || $line === '') ? null : rtrim($line), 'error' => null];
}

/**
 * The fixed client: one non-blocking socket per node, all driven by socket_select() until
 * $quorum nodes answered "OK <sha256 of the body>", the quorum became unreachable, or the
 * deadline passed. A node that makes no progress for $opTimeoutMs fails on its own.
 * Nodes still in flight when the answer is known are reset (SO_LINGER 0): their partial PUT
 * is discarded by the node. Returns [node => ['acked' => bool, 'reply' => ?string, 'error' => ?string]].
 */
function fl_put_fixed(array $addrs, string $key, string $body, int $quorum, float $deadlineAt, int $opTimeoutMs): array
{
    $sha = hash('sha256', $body);
    $header = "PUT $key " . strlen($body) . "\n";
    $total = strlen($header) + strlen($body);
    $results = [];
    $peers = []; // spl_object_id(socket) => state
    foreach ($addrs as $node => $addr) {
        $target = fl_resolve($addr);
        if (is_string($target)) {
            $results[$node] = ['acked' => false, 'reply' => null, 'error' => $target];
            continue;
        }
        $s = socket_create(AF_INET, SOCK_STREAM, SOL_TCP);
        socket_set_nonblock($s);
        if (!@socket_connect($s, $target[0], $target[1]) && socket_last_error($s) !== FL_EINPROGRESS) {
            $results[$node] = ['acked' => false, 'reply' => null, 'error' => 'connect: ' . fl_socket_error($s)];
            socket_close($s);
            continue;
        }
        socket_clear_error($s);
        $peers[spl_object_id($s)] = ['node' => $node, 'socket' => $s, 'phase' => 'connect', 'sent' => 0,
            'reply' => '', 'progressAt' => fl_now_ms()];
    }
    $acks = 0;
    $finish = function (array &$peer, bool $acked, ?string $reply, ?string $error) use (&$results, &$peers, &$acks): void {
        $results[$peer['node']] = ['acked' => $acked, 'reply' => $reply, 'error' => $error];
        if ($acked) {
            $acks++;
            socket_close($peer['socket']);
        } else {
            fl_abandon($peer['socket']);
        }
        unset($peers[spl_object_id($peer['socket'])]);
    };

    while ($peers && $acks < $quorum && $acks + count($peers) >= $quorum) {
        $now = fl_now_ms();
        if ($now >= $deadlineAt) {
            foreach ($peers as $id => $p) {
                $finish($peers[$id], false, null, "deadline exceeded in {$p['phase']} after {$p['sent']}/$total bytes");
            }
            break;
        }
        $wait = $deadlineAt - $now;
        foreach ($peers as $id => $p) {
            $idle = $now - $p['progressAt'];
            if ($idle >= $opTimeoutMs) {
                $finish($peers[$id], false, null, "no progress for $opTimeoutMs ms in {$p['phase']} after {$p['sent']}/$total bytes");
                continue;
            }
            $wait = min($wait, $opTimeoutMs - $idle);
        }
        if (!$peers) {
            break;
        }
        $read = $write = [];
        foreach ($peers as $p) {
            if ($p['phase'] === 'reply') {
                $read[] = $p['socket'];
            } else {
                $write[] = $p['socket'];
            }
        }
        $except = null;
        $waitUs = max(1000, (int) ceil($wait * 1000));
        $n = @socket_select($read, $write, $except, intdiv($waitUs, 1000000), $waitUs % 1000000);
        if ($n === false) {
            $code = socket_last_error();
            socket_clear_error();
            if ($code === FL_EINTR) {
                continue;
            }
            foreach ($peers as $id => $p) {
                $finish($peers[$id], false, null, 'select: ' . socket_strerror($code));
            }
            break;
        }
        foreach ($write as $s) {
            $id = spl_object_id($s);
            if (!isset($peers[$id])) {
                continue;
            }
            $p = &$peers[$id];
            if ($p['phase'] === 'connect') {
                $err = socket_get_option($s, SOL_SOCKET, SO_ERROR);
                if ($err !== 0) {
                    $finish($p, false, null, 'connect: ' . socket_strerror($err) . " ($err)");
                    unset($p);
                    continue;
                }
                $p['phase'] = 'send';
                $p['progressAt'] = fl_now_ms();
            }
            $chunk = $p['sent'] < strlen($header)
                ? substr($header, $p['sent'])
                : substr($body, $p['sent'] - strlen($header), FL_CHUNK);
            $w = @socket_write($s, $chunk);
            if ($w === false) {
                if (socket_last_error($s) === FL_EAGAIN) {
                    socket_clear_error($s);
                } else {
                    $finish($p, false, null, "write after {$p['sent']}/$total bytes: " . fl_socket_error($s));
                }
                unset($p);
                continue;
            }
            if ($w > 0) {
                $p['sent'] += $w;
                $p['progressAt'] = fl_now_ms();
            }
            if ($p['sent'] >= $total) {
                $p['phase'] = 'reply';
            }
            unset($p);
        }
        foreach ($read as $s) {
            $id = spl_object_id($s);
            if (!isset($peers[$id])) {
                continue;
            }
            $p = &$peers[$id];
            $got = @socket_read($s, 512);
            if ($got === false) {
                if (socket_last_error($s) === FL_EAGAIN) {
                    socket_clear_error($s);
                } else {
                    $finish($p, false, null, 'reading the reply: ' . fl_socket_error($s));
                }
            } elseif ($got === '') {
                $finish($p, false, $p['reply'] === '' ? null : $p['reply'], 'closed before a full reply');
            } else {
                $p['reply'] .= $got;
                $p['progressAt'] = fl_now_ms();
                $nl = strpos($p['reply'], "\n");
                if ($nl !== false) {
                    $line = rtrim(substr($p['reply'], 0, $nl), "\r");
                    if ($line === "OK $sha") {
                        $finish($p, true, $line, null);
                    } else {
                        $finish($p, false, $line, 'reply does not acknowledge sha256 ' . $sha);
                    }
                } elseif (strlen($p['reply']) > 512) {
                    $finish($p, false, substr($p['reply'], 0, 80), 'reply line too long');
                }
            }
            unset($p);
        }
    }
    foreach ($peers as $id => $p) {
        $finish($peers[$id], false, null, 'abandoned: ' . ($acks >= $quorum ? 'quorum already reached' : 'quorum unreachable'));
    }
    return $results;
}

/** Closes with RST (SO_LINGER 0) so the node drops its half-received PUT at once. */
function fl_abandon(\Socket $s): void
{
    @socket_set_option($s, SOL_SOCKET, SO_LINGER, ['l_onoff' => 1, 'l_linger' => 0]);
    @socket_close($s);
}
