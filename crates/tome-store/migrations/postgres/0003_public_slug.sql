-- Tome schema, version 3 (PostgreSQL): a public slug belongs to one knowledge base instance-wide.
-- Same rule and index name as SQLite's version 3.
--
-- Hosted help centres are addressed by slug alone (`/hc/{slug}`), so a slug may belong to at most
-- one public knowledge base across the whole instance. Slugs stay unique only per project for
-- private knowledge bases, as the spec says. Clashing public slugs from before this rule: the
-- oldest public knowledge base keeps its hosted page; the others become private.
UPDATE knowledge_bases SET is_public = FALSE
WHERE is_public
  AND EXISTS (
    SELECT 1 FROM knowledge_bases older
    WHERE older.is_public AND older.slug = knowledge_bases.slug AND older.seq < knowledge_bases.seq
  );

CREATE UNIQUE INDEX knowledge_bases_public_slug ON knowledge_bases (slug) WHERE is_public;
