-- SPDX-License-Identifier: Apache-2.0
-- shop.sql -- the quickstart's demo database: a small online shop.
--
--   sqlite3 shop.db < conf/quickstart/shop.sql
--
-- Every row is generated from small lists of names with recursive CTEs and a
-- fixed integer hash, so the same file always yields the same database:
--   customers 500, products 120, orders 2000, order_items about 5000,
--   and the view order_totals (one row per order).
-- orders.updated_at is a good incremental cursor: it only moves forward when
-- an order changes (paid, shipped, delivered, cancelled).

PRAGMA foreign_keys = ON;

BEGIN;

DROP VIEW IF EXISTS order_totals;
DROP TABLE IF EXISTS order_items;
DROP TABLE IF EXISTS orders;
DROP TABLE IF EXISTS products;
DROP TABLE IF EXISTS customers;

CREATE TABLE customers (
    id              INTEGER PRIMARY KEY,
    email           TEXT     NOT NULL UNIQUE,
    first_name      TEXT     NOT NULL,
    last_name       TEXT     NOT NULL,
    phone           TEXT,                       -- NULL when not given
    city            TEXT     NOT NULL,
    country         CHAR(2)  NOT NULL DEFAULT 'DE',
    loyalty_tier    TEXT     CHECK (loyalty_tier IN ('silver', 'gold', 'platinum')),
    marketing_opt_in BOOLEAN NOT NULL DEFAULT 0,
    created_at      DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at      DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE products (
    id              INTEGER PRIMARY KEY,
    sku             TEXT     NOT NULL UNIQUE,
    name            TEXT     NOT NULL,
    category        TEXT     NOT NULL,
    price           NUMERIC(10,2) NOT NULL CHECK (price >= 0),
    stock           INTEGER  NOT NULL DEFAULT 0 CHECK (stock >= 0),
    discontinued    BOOLEAN  NOT NULL DEFAULT 0,
    description     TEXT,                       -- NULL for some products
    updated_at      DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE orders (
    id              INTEGER PRIMARY KEY,
    customer_id     INTEGER  NOT NULL REFERENCES customers(id),
    status          TEXT     NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'paid', 'shipped',
                                      'delivered', 'cancelled', 'refunded')),
    currency        CHAR(3)  NOT NULL DEFAULT 'EUR',
    ordered_at      DATETIME NOT NULL,
    shipped_at      DATETIME,                   -- NULL until shipped
    note            TEXT,                       -- free text from the customer
    updated_at      DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX orders_customer_id ON orders(customer_id);
CREATE INDEX orders_updated_at ON orders(updated_at);

CREATE TABLE order_items (
    order_id        INTEGER  NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    line_no         INTEGER  NOT NULL CHECK (line_no > 0),
    product_id      INTEGER  NOT NULL REFERENCES products(id),
    quantity        INTEGER  NOT NULL DEFAULT 1 CHECK (quantity > 0),
    unit_price      NUMERIC(10,2) NOT NULL,
    discount        REAL     CHECK (discount IS NULL OR (discount > 0 AND discount < 1)),
    PRIMARY KEY (order_id, line_no)
);
CREATE INDEX order_items_product_id ON order_items(product_id);

-- Word lists the rows are built from (temporary: gone when the file ends).
CREATE TEMP TABLE first_names (i INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO first_names (name) VALUES
    ('Anna'), ('Ben'), ('Clara'), ('David'), ('Elif'), ('Felix'), ('Greta'),
    ('Hannah'), ('Ivan'), ('Julia'), ('Karim'), ('Lena'), ('Mateo'), ('Nora'),
    ('Oskar'), ('Paula'), ('Quentin'), ('Rosa'), ('Samuel'), ('Tara'),
    ('Umar'), ('Vera'), ('William'), ('Ximena'), ('Yusuf'), ('Zoë'),
    ('Amélie'), ('Björn'), ('Chiara'), ('Dmitri'), ('Emma'), ('Finn'),
    ('Giulia'), ('Hugo'), ('Ines'), ('Jonas'), ('Katarzyna'), ('Luca'),
    ('Mia'), ('Noah');

CREATE TEMP TABLE last_names (i INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO last_names (name) VALUES
    ('Müller'), ('Schmidt'), ('Schneider'), ('Fischer'), ('Weber'),
    ('Meyer'), ('Wagner'), ('Becker'), ('Hoffmann'), ('Koch'), ('Rossi'),
    ('Russo'), ('García'), ('Fernández'), ('Martin'), ('Bernard'),
    ('Dubois'), ('Jansen'), ('de Vries'), ('Novak'), ('Kowalski'),
    ('Nowak'), ('Andersen'), ('Nielsen'), ('Johansson'), ('O''Brien'),
    ('Murphy'), ('Smith'), ('Jones'), ('Yılmaz'), ('Kaya'), ('Papadopoulos'),
    ('Horvat'), ('Popescu'), ('Silva'), ('Santos'), ('Virtanen'),
    ('Lindqvist'), ('Dvořák'), ('Nagy');

CREATE TEMP TABLE cities (i INTEGER PRIMARY KEY, city TEXT NOT NULL,
                          country TEXT NOT NULL, dial TEXT NOT NULL);
INSERT INTO cities (city, country, dial) VALUES
    ('Berlin', 'DE', '+49 30'), ('Hamburg', 'DE', '+49 40'),
    ('München', 'DE', '+49 89'), ('Köln', 'DE', '+49 221'),
    ('Leipzig', 'DE', '+49 341'), ('Wien', 'AT', '+43 1'),
    ('Graz', 'AT', '+43 316'), ('Zürich', 'CH', '+41 44'),
    ('Amsterdam', 'NL', '+31 20'), ('Rotterdam', 'NL', '+31 10'),
    ('Paris', 'FR', '+33 1'), ('Lyon', 'FR', '+33 4'),
    ('Milano', 'IT', '+39 02'), ('Roma', 'IT', '+39 06'),
    ('Madrid', 'ES', '+34 91'), ('Barcelona', 'ES', '+34 93'),
    ('Lisboa', 'PT', '+351 21'), ('Kraków', 'PL', '+48 12'),
    ('Praha', 'CZ', '+420 2'), ('København', 'DK', '+45 3'),
    ('Stockholm', 'SE', '+46 8'), ('Helsinki', 'FI', '+358 9'),
    ('Dublin', 'IE', '+353 1'), ('Bruxelles', 'BE', '+32 2'),
    ('Ljubljana', 'SI', '+386 1');

CREATE TEMP TABLE domains (i INTEGER PRIMARY KEY, domain TEXT NOT NULL);
INSERT INTO domains (domain) VALUES
    ('example.com'), ('example.org'), ('example.net'), ('mail.example'),
    ('post.example'), ('web.example');

CREATE TEMP TABLE adjectives (i INTEGER PRIMARY KEY, word TEXT NOT NULL);
INSERT INTO adjectives (word) VALUES
    ('Classic'), ('Compact'), ('Deluxe'), ('Everyday'), ('Field'),
    ('Heritage'), ('Lightweight'), ('Nordic'), ('Organic'), ('Pro'),
    ('Recycled'), ('Urban');

CREATE TEMP TABLE nouns (i INTEGER PRIMARY KEY, word TEXT NOT NULL,
                         category TEXT NOT NULL, base_price REAL NOT NULL,
                         blurb TEXT NOT NULL);
INSERT INTO nouns (word, category, base_price, blurb) VALUES
    ('Backpack', 'Bags', 69, '24 litres, padded laptop sleeve, water-repellent'),
    ('Tote Bag', 'Bags', 19, 'Heavy cotton canvas, inside pocket'),
    ('Coffee Mug', 'Kitchen', 14, 'Stoneware, 350 ml, dishwasher safe'),
    ('Chef''s Knife', 'Kitchen', 59, '8" blade, forged stainless steel'),
    ('Water Bottle', 'Outdoor', 24, 'Insulated, keeps drinks cold for 24 hours'),
    ('Rain Jacket', 'Apparel', 119, 'Taped seams, packs into its own pocket'),
    ('Wool Socks', 'Apparel', 16, 'Merino blend, sold as a pair'),
    ('Desk Lamp', 'Home', 45, 'Dimmable LED, warm white'),
    ('Notebook', 'Stationery', 9, 'A5, dotted, 192 pages'),
    ('Headphones', 'Electronics', 89, 'Over-ear, 30 h battery, USB-C');

-- rnd: six reproducible "random" 32-bit numbers per row number, from a
-- fixed integer hash (two multiply/xor-shift rounds; a XOR b is written as
-- (a | b) - (a & b), SQLite having no XOR operator).  Row ranges:
-- customers 1-500, products 501-620, orders 1001-3000, order lines 3001-11000.
CREATE TEMP TABLE rnd (n INTEGER PRIMARY KEY, h1 INTEGER, h2 INTEGER,
                       h3 INTEGER, h4 INTEGER, h5 INTEGER, h6 INTEGER);
INSERT INTO rnd
WITH RECURSIVE seq(n) AS (
    SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 11000
), salt(k) AS (
    SELECT 1 UNION ALL SELECT k + 1 FROM salt WHERE k < 6
), r0 AS (
    SELECT n, k, ((n * 8 + k) * 2654435761) % 4294967296 AS x FROM seq, salt
), r1 AS (
    SELECT n, k, (((x >> 16) | x) - ((x >> 16) & x)) * 73244475 % 4294967296 AS x
    FROM r0
), r2 AS (
    SELECT n, k, (((x >> 16) | x) - ((x >> 16) & x)) * 73244475 % 4294967296 AS x
    FROM r1
), r3 AS (
    SELECT n, k, ((x >> 16) | x) - ((x >> 16) & x) AS x FROM r2
)
SELECT n, max(CASE k WHEN 1 THEN x END), max(CASE k WHEN 2 THEN x END),
          max(CASE k WHEN 3 THEN x END), max(CASE k WHEN 4 THEN x END),
          max(CASE k WHEN 5 THEN x END), max(CASE k WHEN 6 THEN x END)
FROM r3
GROUP BY n;

INSERT INTO customers (id, email, first_name, last_name, phone, city, country,
                       loyalty_tier, marketing_opt_in, created_at, updated_at)
WITH RECURSIVE seq(n) AS (
    SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 500
), named AS (
    SELECT s.n, r.h1, r.h2, r.h3, r.h4, r.h5, r.h6,
           f.name AS first_name, l.name AS last_name,
           c.city, c.country, c.dial, d.domain,
           datetime('2022-01-03 08:00:00',
                    '+' || (s.n * 1051 + r.h5 % 900) || ' minutes') AS created_at
    FROM seq s
    JOIN rnd         r ON r.n = s.n
    JOIN first_names f ON f.i = 1 + r.h1 % 40
    JOIN last_names  l ON l.i = 1 + r.h2 % 40
    JOIN cities      c ON c.i = 1 + r.h3 % 25
    JOIN domains     d ON d.i = 1 + r.h4 % 6
)
SELECT n,
       lower(replace(replace(first_name || '.' || last_name, ' ', ''), '''', ''))
           || n || '@' || domain,
       first_name,
       last_name,
       CASE WHEN (h4 / 10) % 10 < 3 THEN NULL
            ELSE dial || ' ' || printf('%07d', (h6 / 100) % 10000000) END,
       city,
       country,
       CASE (h5 / 1000) % 12 WHEN 0 THEN 'platinum' WHEN 1 THEN 'gold'
                             WHEN 2 THEN 'gold' WHEN 3 THEN 'silver'
                             WHEN 4 THEN 'silver' ELSE NULL END,
       (h6 / 7) % 3 = 0,
       created_at,
       CASE WHEN (h1 / 100) % 4 = 0 THEN created_at
            ELSE datetime(created_at, '+' || ((h2 / 100) % 400) || ' days',
                          '+' || ((h3 / 100) % 1440) || ' minutes') END
FROM named
ORDER BY n;

INSERT INTO products (id, sku, name, category, price, stock, discontinued,
                      description, updated_at)
WITH RECURSIVE seq(n) AS (
    SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 120
)
SELECT s.n,
       printf('%s-%04d', upper(substr(w.category, 1, 3)), s.n),
       a.word || ' ' || w.word,
       w.category,
       -- the noun's base price -30 % .. +30 %, ending in .99 or .49
       CAST(w.base_price * (70 + r.h1 % 61) / 100 AS INTEGER)
           + CASE WHEN r.h2 % 4 = 0 THEN 0.49 ELSE 0.99 END,
       r.h3 % 250,
       r.h4 % 17 = 0,
       CASE WHEN r.h5 % 4 = 0 THEN NULL ELSE w.blurb END,
       datetime('2023-06-01 09:00:00', '+' || (r.h6 % 300) || ' days',
                '+' || ((r.h6 / 1000) % 600) || ' minutes')
FROM seq s
JOIN rnd        r ON r.n = 500 + s.n
JOIN adjectives a ON a.i = 1 + (s.n - 1) / 10
JOIN nouns      w ON w.i = 1 + (s.n - 1) % 10
ORDER BY s.n;

-- 2000 orders over 2024, about one every 4 h 22 min; the last few dozen are
-- still on their way (shipped) or open (pending, paid).
INSERT INTO orders (id, customer_id, status, currency, ordered_at, shipped_at,
                    note, updated_at)
WITH RECURSIVE seq(n) AS (
    SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 2000
), staged AS (
    SELECT s.n, r.h1, r.h2, r.h3, r.h4, r.h5, r.h6,
           datetime('2024-01-01 00:00:00',
                    '+' || (s.n * 262 + r.h1 % 200) || ' minutes',
                    '+' || (r.h2 % 60) || ' seconds') AS ordered_at,
           CASE
               WHEN s.n > 1970 THEN CASE WHEN r.h3 % 2 = 0 THEN 'pending' ELSE 'paid' END
               WHEN s.n > 1930 THEN 'shipped'
               WHEN r.h3 % 25 = 0 THEN 'cancelled'
               WHEN r.h3 % 25 = 1 THEN 'refunded'
               ELSE 'delivered'
           END AS status
    FROM seq s
    JOIN rnd r ON r.n = 1000 + s.n
), dated AS (
    SELECT *,
           CASE WHEN status IN ('shipped', 'delivered', 'refunded')
                THEN datetime(ordered_at, '+' || (6 + (h4 / 10) % 66) || ' hours')
           END AS shipped_at
    FROM staged
)
SELECT n,
       1 + h5 % 500,
       status,
       CASE WHEN (h6 / 10) % 20 = 0 THEN 'CHF' ELSE 'EUR' END,
       ordered_at,
       shipped_at,
       CASE (h6 / 1000) % 40
           WHEN 0 THEN 'Please leave the parcel at the door, thanks!'
           WHEN 1 THEN 'Gift wrap, card reads "Happy birthday, Sam"'
           WHEN 2 THEN 'Ring twice; the bell is broken'
           WHEN 3 THEN 'Deliver to reception' || char(10) || '2nd floor, building B'
           WHEN 4 THEN ''
           ELSE NULL
       END,
       CASE status
           WHEN 'pending'   THEN ordered_at
           WHEN 'paid'      THEN datetime(ordered_at, '+' || (5 + (h4 / 1000) % 120) || ' minutes')
           WHEN 'shipped'   THEN shipped_at
           WHEN 'cancelled' THEN datetime(ordered_at, '+' || (1 + (h4 / 1000) % 47) || ' hours')
           WHEN 'refunded'  THEN datetime(shipped_at, '+' || (10 + (h4 / 1000) % 20) || ' days',
                                          '+' || ((h2 / 100) % 3600) || ' seconds')
           ELSE datetime(shipped_at, '+' || (24 + (h4 / 1000) % 72) || ' hours',
                         '+' || ((h2 / 100) % 3600) || ' seconds')
       END
FROM dated
ORDER BY n;

-- One to four lines per order, each a different product (37 is coprime to
-- 120); unit_price is the list price, a few lines carry a discount.
INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price,
                         discount)
WITH RECURSIVE lines(k) AS (
    SELECT 1 UNION ALL SELECT k + 1 FROM lines WHERE k < 4
), pick AS (
    SELECT o.id AS order_id, l.k AS line_no,
           ro.h1 AS ho, rl.h2 AS hq, rl.h3 AS hd
    FROM orders o
    CROSS JOIN lines l
    JOIN rnd ro ON ro.n = 1000 + o.id
    JOIN rnd rl ON rl.n = 3000 + (o.id - 1) * 4 + l.k
)
SELECT p.order_id,
       p.line_no,
       pr.id,
       CASE WHEN p.hq % 10 < 7 THEN 1 ELSE 2 + (p.hq / 10) % 4 END,
       pr.price,
       CASE p.hd % 20 WHEN 0 THEN 0.1 WHEN 1 THEN 0.15 WHEN 2 THEN 0.25 END
FROM pick p
JOIN products pr ON pr.id = 1 + ((p.ho / 1000) % 120 + p.line_no * 37) % 120
WHERE p.line_no <= 1 + (p.ho / 10) % 4
ORDER BY p.order_id, p.line_no;

CREATE VIEW order_totals AS
SELECT o.id                    AS order_id,
       o.customer_id           AS customer_id,
       o.status                AS status,
       o.currency              AS currency,
       o.ordered_at            AS ordered_at,
       count(*)                AS lines,
       sum(i.quantity)         AS units,
       round(sum(i.quantity * i.unit_price * (1 - coalesce(i.discount, 0))), 2)
                               AS total
FROM orders o
JOIN order_items i ON i.order_id = o.id
GROUP BY o.id;

DROP TABLE temp.first_names;
DROP TABLE temp.last_names;
DROP TABLE temp.cities;
DROP TABLE temp.domains;
DROP TABLE temp.adjectives;
DROP TABLE temp.nouns;
DROP TABLE temp.rnd;

COMMIT;
