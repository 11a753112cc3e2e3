-- faultline fpm stack: schema and seed data. Idempotent: applying it again changes nothing,
-- so it can run at image build, at first start, and again through `docker exec`.
CREATE DATABASE IF NOT EXISTS faultline CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
-- The app's account (a test fixture: app/app, from any address of the run's network).
CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'app';
GRANT SELECT, INSERT, UPDATE, DELETE ON faultline.* TO 'app'@'%';
USE faultline;
CREATE TABLE IF NOT EXISTS users (
  id INT UNSIGNED NOT NULL PRIMARY KEY,
  name VARCHAR(64) NOT NULL UNIQUE,
  email VARCHAR(255) NOT NULL,
  bio TEXT NOT NULL
) ENGINE=InnoDB;
INSERT IGNORE INTO users (id, name, email, bio) VALUES
  (1, 'alice', 'alice@example.test', 'Reloads her profile when it is slow.'),
  (2, 'bob', 'bob@example.test', 'Uses the site while alice waits.'),
  (3, 'carol', 'carol@example.test', 'Checks the API page.'),
  (4, 'dave', 'dave@example.test', 'Rarely logs in.');
