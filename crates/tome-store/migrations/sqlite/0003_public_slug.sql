-- Hosted help centres are addressed by slug alone (`/hc/{slug}`), so a slug may belong to at most
-- one public knowledge base across the whole instance. Slugs stay unique only per project for
-- private knowledge bases, as the spec says.
--
-- Databases created before this rule may already hold clashing public slugs. The oldest public
-- knowledge base keeps its hosted page; the others become private (their content and public API
-- are untouched) so the index can be built and the server can start.
UPDATE knowledge_bases SET is_public = 0
WHERE is_public = 1
  AND EXISTS (
    SELECT 1 FROM knowledge_bases older
    WHERE older.is_public = 1 AND older.slug = knowledge_bases.slug AND older.seq < knowledge_bases.seq
  );

CREATE UNIQUE INDEX knowledge_bases_public_slug ON knowledge_bases (slug) WHERE is_public = 1;
