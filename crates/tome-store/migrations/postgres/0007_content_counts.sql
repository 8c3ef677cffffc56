-- Tome schema, version 7 (postgres): indexes that cover the dashboard's content counts.
--
-- The dashboard's content tree shows, per category and section, how many articles each status
-- holds, and per category how many FAQs (`content_counts`: one GROUP BY per table). Without
-- these the count reads every row of the KB, bodies and all; with them it reads the index only.
CREATE INDEX articles_tree ON articles (project_id, kb_id, category_id, section_id, status);
CREATE INDEX faqs_tree ON faqs (project_id, kb_id, category_id);
