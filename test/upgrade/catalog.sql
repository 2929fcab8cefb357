-- test/upgrade/catalog.sql: the catalog of the automl extension in the current database,
-- one line per fact, sorted, without OIDs or data: what pg_dump --schema-only cannot
-- show (it prints only CREATE EXTENSION for an extension's objects). Two databases with
-- the same output have the same extension objects, definitions, labels, privileges and
-- comments. Used by test/t/008_upgrade.pl (an updated 0.1.0 against a fresh install)
-- and test/scripts/catalog_check.sh. Run with psql -XAt.
WITH ext AS (
    SELECT e.oid, e.extnamespace FROM pg_catalog.pg_extension e WHERE e.extname = 'automl'
),
members AS (
    SELECT d.classid, d.objid, d.objsubid,
           pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid) AS obj
    FROM pg_catalog.pg_depend d, ext
    WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
      AND d.refobjid = ext.oid AND d.deptype = 'e'
),
schemas AS (
    SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace n
    WHERE n.oid IN (SELECT extnamespace FROM ext)
       OR n.oid IN (SELECT objid FROM members WHERE classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass)
),
rels AS (
    SELECT c.* FROM pg_catalog.pg_class c
    WHERE c.relnamespace IN (SELECT objid FROM members WHERE classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass)
       OR c.oid IN (SELECT objid FROM members WHERE classid = 'pg_catalog.pg_class'::pg_catalog.regclass)
),
facts(line) AS (
    -- the extension itself
    SELECT pg_catalog.format('extension %s version %s relocatable %s schema %s', e.extname, e.extversion,
                             e.extrelocatable, e.extnamespace::pg_catalog.regnamespace)
    FROM pg_catalog.pg_extension e WHERE e.extname = 'automl'
    UNION ALL
    SELECT pg_catalog.format('extension config %s condition %L', c.cfg::pg_catalog.regclass, c.cond)
    FROM pg_catalog.pg_extension e,
         LATERAL ROWS FROM (pg_catalog.unnest(e.extconfig), pg_catalog.unnest(e.extcondition)) AS c(cfg, cond)
    WHERE e.extname = 'automl'
    -- every member and its comment
    UNION ALL
    SELECT pg_catalog.format('member %s comment %L', m.obj,
                             (SELECT x.description FROM pg_catalog.pg_description x
                              WHERE x.classoid = m.classid AND x.objoid = m.objid AND x.objsubid = m.objsubid))
    FROM members m
    -- privileges as the extension script left them (GRANT/REVOKE in it)
    UNION ALL
    SELECT pg_catalog.format('initial privileges %s: %s',
                             pg_catalog.pg_describe_object(p.classoid, p.objoid, p.objsubid), p.initprivs)
    FROM pg_catalog.pg_init_privs p
    WHERE p.privtype = 'e' AND EXISTS (SELECT 1 FROM members m WHERE m.classid = p.classoid AND m.objid = p.objoid)
    UNION ALL
    SELECT pg_catalog.format('schema %s owner %s acl %s', s.nspname, n.nspowner::pg_catalog.regrole, n.nspacl)
    FROM schemas s JOIN pg_catalog.pg_namespace n ON n.oid = s.oid
    -- functions: their whole definition (labels, settings, body) and privileges
    UNION ALL
    SELECT pg_catalog.format(E'function %s owner %s volatile %s parallel %s strict %s secdef %s leakproof %s cost %s rows %s acl %s\n%s',
                             p.oid::pg_catalog.regprocedure, p.proowner::pg_catalog.regrole, p.provolatile,
                             p.proparallel, p.proisstrict, p.prosecdef, p.proleakproof, p.procost, p.prorows,
                             p.proacl, CASE WHEN p.prokind = 'a' THEN pg_catalog.format('aggregate: state %s type %s combine %s final %s',
                                 a.aggtransfn, a.aggtranstype::pg_catalog.regtype, a.aggcombinefn, a.aggfinalfn)
                                 ELSE pg_catalog.pg_get_functiondef(p.oid) END)
    FROM pg_catalog.pg_proc p LEFT JOIN pg_catalog.pg_aggregate a ON a.aggfnoid = p.oid
    WHERE p.oid IN (SELECT objid FROM members WHERE classid = 'pg_catalog.pg_proc'::pg_catalog.regclass)
    -- relations: kind, options, privileges, row security; views' queries; sequences
    UNION ALL
    SELECT pg_catalog.format('relation %s kind %s persistence %s owner %s acl %s rls %s force %s options %s replica %s comment %L',
                             c.oid::pg_catalog.regclass, c.relkind, c.relpersistence, c.relowner::pg_catalog.regrole,
                             c.relacl, c.relrowsecurity, c.relforcerowsecurity, c.reloptions, c.relreplident,
                             pg_catalog.obj_description(c.oid, 'pg_class'))
    FROM rels c
    UNION ALL
    SELECT pg_catalog.format(E'view %s\n%s', c.oid::pg_catalog.regclass, pg_catalog.pg_get_viewdef(c.oid))
    FROM rels c WHERE c.relkind IN ('v', 'm')
    UNION ALL
    SELECT pg_catalog.format('sequence %s type %s start %s increment %s min %s max %s cache %s cycle %s owned by %s',
                             s.seqrelid::pg_catalog.regclass, s.seqtypid::pg_catalog.regtype, s.seqstart,
                             s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
                             (SELECT pg_catalog.format('%s.%s', d.refobjid::pg_catalog.regclass, a.attname)
                              FROM pg_catalog.pg_depend d
                              JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                              WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = s.seqrelid
                                AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
                                AND d.deptype IN ('a', 'i')))
    FROM pg_catalog.pg_sequence s WHERE s.seqrelid IN (SELECT oid FROM rels)
    -- columns, in their order (dropped ones left out, so an added column's place shows)
    UNION ALL
    SELECT pg_catalog.format('column %s #%s %s %s not null %s identity %L generated %L collation %s default %s acl %s comment %L',
                             a.attrelid::pg_catalog.regclass,
                             pg_catalog.row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),
                             a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
                             a.attidentity, a.attgenerated,
                             CASE WHEN a.attcollation <> 0 THEN (SELECT co.collname FROM pg_catalog.pg_collation co
                                                                 WHERE co.oid = a.attcollation) END,
                             pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), a.attacl,
                             pg_catalog.col_description(a.attrelid, a.attnum))
    FROM pg_catalog.pg_attribute a
    LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    WHERE a.attrelid IN (SELECT oid FROM rels) AND a.attnum > 0 AND NOT a.attisdropped
    -- constraints, indexes, triggers, policies
    UNION ALL
    SELECT pg_catalog.format('constraint %s on %s: %s deferrable %s deferred %s', co.conname,
                             co.conrelid::pg_catalog.regclass, pg_catalog.pg_get_constraintdef(co.oid),
                             co.condeferrable, co.condeferred)
    FROM pg_catalog.pg_constraint co WHERE co.conrelid IN (SELECT oid FROM rels)
    UNION ALL
    SELECT pg_catalog.format('index %s', pg_catalog.pg_get_indexdef(i.indexrelid))
    FROM pg_catalog.pg_index i WHERE i.indrelid IN (SELECT oid FROM rels)
    UNION ALL
    SELECT pg_catalog.format('trigger %s enabled %s', pg_catalog.pg_get_triggerdef(t.oid), t.tgenabled)
    FROM pg_catalog.pg_trigger t WHERE t.tgrelid IN (SELECT oid FROM rels) AND NOT t.tgisinternal
    UNION ALL
    SELECT pg_catalog.format('policy %s on %s.%s: %s %s to %s using %s check %s', p.policyname, p.schemaname,
                             p.tablename, p.permissive, p.cmd, p.roles, p.qual, p.with_check)
    FROM pg_catalog.pg_policies p WHERE p.schemaname IN (SELECT nspname FROM schemas)
    -- types the extension made (a table's row type is its table's)
    UNION ALL
    SELECT pg_catalog.format('type %s kind %s relation %s acl %s comment %L', t.oid::pg_catalog.regtype, t.typtype,
                             t.typrelid::pg_catalog.regclass, t.typacl, pg_catalog.obj_description(t.oid, 'pg_type'))
    FROM pg_catalog.pg_type t
    WHERE t.typnamespace IN (SELECT objid FROM members WHERE classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass)
       OR t.oid IN (SELECT objid FROM members WHERE classid = 'pg_catalog.pg_type'::pg_catalog.regclass)
)
SELECT line FROM facts ORDER BY line COLLATE "C";
