<?php
// A PHP request for the corpus, the way mod_php or php-fpm runs one with the files session
// handler: session_start() takes flock(LOCK_EX) on the session file for the whole request, then
// the request calls an internal HTTP API through PHP streams (no timeout beyond the default).
// Usage: php8.2 session.php SAVE_PATH SESSION_ID API_HOST:PORT [--tag T]
[$_, $savePath, $sid, $api] = $argv;
ini_set('session.save_path', $savePath);
ini_set('session.use_cookies', '0');
ini_set('default_socket_timeout', '600');
session_id($sid);
session_start();
fwrite(STDOUT, "mark locked " . getmypid() . "\n");
fflush(STDOUT);
$_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;
file_get_contents("http://$api/v1/profile");
