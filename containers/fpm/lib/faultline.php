<?php
// Shared helpers for the faultline fpm app: request options, JSON answers, upstream addresses.
// Kept outside the document root (/var/www/lib) so it cannot be requested directly.
declare(strict_types=1);

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
    $body['pid'] = getmypid();
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
        fl_bad_request('variant must be incident or fixed, got ' . json_encode($v));
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

/** "host:port" -> [host, port]. */
function fl_split_addr(string $addr): array
{
    $i = strrpos($addr, ':');
    if ($i === false || $i === 0 || !ctype_digit(substr($addr, $i + 1))) {
        fl_json(500, ['ok' => false, 'error' => 'upstream address must be host:port, got ' . json_encode($addr)]);
    }
    return [substr($addr, 0, $i), (int) substr($addr, $i + 1)];
}

/** `user` query param, else the session's last user, else alice. */
function fl_user(): string
{
    $user = $_GET['user'] ?? ($_SESSION['user'] ?? 'alice');
    if (!is_string($user) || !preg_match(FL_USER_PATTERN, $user)) {
        fl_bad_request('user must match ' . FL_USER_PATTERN);
    }
    return $user;
}

/**
 * The fixed variant's budget: a per-operation timeout and one deadline counted from the start
 * of the request. `opMs()` is the time the next operation may take; it answers 504 itself once
 * the deadline has passed.
 */
final class FlBudget
{
    public readonly float $deadlineAt;

    public function __construct(public readonly int $timeoutMs, public readonly int $deadlineMs, private readonly array $context)
    {
        global $FL_T0;
        $this->deadlineAt = $FL_T0 + $deadlineMs;
    }

    public static function fromRequest(array $context): self
    {
        return new self(fl_ms('timeout_ms', 'FL_TIMEOUT_MS', 2000), fl_ms('deadline_ms', 'FL_DEADLINE_MS', 3000), $context);
    }

    public function opMs(): int
    {
        $left = $this->deadlineAt - fl_now_ms();
        if ($left <= 0) {
            $this->fail(504, "deadline exceeded ({$this->deadlineMs} ms)");
        }
        return (int) max(1, min($this->timeoutMs, floor($left)));
    }

    public function expired(): bool
    {
        return fl_now_ms() >= $this->deadlineAt;
    }

    public function fail(int $status, string $error): never
    {
        fl_json($status, $this->context + ['ok' => false, 'error' => $error,
            'timeout_ms' => $this->timeoutMs, 'deadline_ms' => $this->deadlineMs]);
    }
}

$FL_T0 = fl_now_ms();
