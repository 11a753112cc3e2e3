<?php
// Shared helpers for the faultline web app: request options, JSON answers, upstream addresses.
// Kept outside the document root (/var/www/lib) so it cannot be requested directly.
declare(strict_types=1);

const FL_KEY_PATTERN = '/^[A-Za-z0-9._:-]{1,200}$/';
const FL_USER_PATTERN = '/^[A-Za-z0-9._-]{1,64}$/';

/** Monotonic milliseconds (hrtime), for deadlines and the "ms" field of answers. */
function fl_now_ms(): float
{
    return hrtime(true) / 1e6;
}

/** Sends a JSON answer and ends the request. `ms` is added: time since the request started. */
function fl_json(int $status, array $body): never
{
    global $FL_T0;
    $body['ms'] = (int) round(fl_now_ms() - $FL_T0);
    http_response_code($status);
    header('Content-Type: application/json');
    header('Cache-Control: no-store');
    echo json_encode($body, JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE), "\n";
    exit;
}

function fl_bad_request(string $message): never
{
    fl_json(400, ['ok' => false, 'error' => $message]);
}

/** `variant=incident|fixed` query param, else the X-Faultline-Variant header, else incident. */
function fl_variant(): string
{
    $v = $_GET['variant'] ?? ($_SERVER['HTTP_X_FAULTLINE_VARIANT'] ?? 'incident');
    if ($v !== 'incident' && $v !== 'fixed') {
        fl_bad_request("variant must be incident or fixed, got " . json_encode($v));
    }
    return $v;
}

function fl_env(string $name, string $default): string
{
    $v = getenv($name);
    return ($v === false || $v === '') ? $default : $v;
}

/** A positive millisecond count from the query param, else the env var, else the default. */
function fl_ms(string $param, string $env, int $default): int
{
    $raw = $_GET[$param] ?? fl_env($env, (string) $default);
    if (!is_string($raw) || !preg_match('/^[0-9]{1,7}$/', $raw) || (int) $raw < 1) {
        fl_bad_request("$param (or $env) must be a number of milliseconds between 1 and 9999999");
    }
    return (int) $raw;
}

/** A millisecond count from the query param (0 = no limit), else the default. */
function fl_ms_or_none(string $param, int $default): int
{
    if (!isset($_GET[$param])) {
        return $default;
    }
    $raw = $_GET[$param];
    if (!is_string($raw) || !preg_match('/^[0-9]{1,7}$/', $raw)) {
        fl_bad_request("$param must be a number of milliseconds between 0 (no limit) and 9999999");
    }
    return (int) $raw;
}

/** A query param out of a fixed list, else the default. */
function fl_choice(string $param, string $default, array $allowed): string
{
    $raw = $_GET[$param] ?? $default;
    if (!is_string($raw) || !in_array($raw, $allowed, true)) {
        fl_bad_request("$param must be one of " . implode(', ', $allowed));
    }
    return $raw;
}

/**
 * SO_KEEPALIVE on a stream's socket (ext/sockets; PHP streams have no context option for it in
 * 8.2). Probe timing comes from the network namespace's net.ipv4.tcp_keepalive_* sysctls.
 */
function fl_keepalive($fp): void
{
    $socket = socket_import_stream($fp);
    if ($socket === false || !socket_set_option($socket, SOL_SOCKET, SO_KEEPALIVE, 1)) {
        fl_json(500, ['ok' => false, 'error' => 'could not turn SO_KEEPALIVE on']);
    }
}

/** An integer query param within [min, max], or the default when absent. */
function fl_int_param(string $name, int $default, int $min, int $max): int
{
    if (!isset($_GET[$name])) {
        return $default;
    }
    $raw = $_GET[$name];
    if (!is_string($raw) || !preg_match('/^[0-9]{1,4}$/', $raw) || (int) $raw < $min || (int) $raw > $max) {
        fl_bad_request("$name must be an integer between $min and $max");
    }
    return (int) $raw;
}

/** "host:port" -> [host, port]. */
function fl_split_addr(string $addr): array
{
    $i = strrpos($addr, ':');
    if ($i === false || $i === 0) {
        fl_json(500, ['ok' => false, 'error' => "upstream address must be host:port, got " . json_encode($addr)]);
    }
    return [substr($addr, 0, $i), (int) substr($addr, $i + 1)];
}

/** FL_STORAGE_ADDRS as [1 => "host:port", 2 => ...] (storage nodes are numbered from 1). */
function fl_storage_addrs(): array
{
    $list = array_values(array_filter(array_map('trim', explode(',', fl_env('FL_STORAGE_ADDRS', 'storage1:9000')))));
    $out = [];
    foreach ($list as $i => $addr) {
        $out[$i + 1] = $addr;
    }
    return $out;
}

$FL_T0 = fl_now_ms();
