"""The words of every problem the loader and its cross-checks report, as msgids for the catalog.

problem_words matches a problem's English text against these (their `{fields}` capture the names
the text carries) to say it in the reader's language. A check that words a new problem adds its
text here; tests/metadata/test_problem_catalog.py finds a problem text no msgid matches.
"""
from __future__ import annotations

from atrium.translation import N_

# What the cross-checks say (tried before problem_words.MESSAGES: the more specific text first).
CHECK_MESSAGES: tuple[str, ...] = (
    N_("'{name}' is a {type} field: duplicates are compared on {types} fields"),
    N_("'{name}' is computed: duplicates are compared on fields people type"),
    N_("'{name}' keeps its normalised value in the column {name}_key, which is a field of {entity}: "
       'rename that field'),
    N_("'{name}' keeps when a record entered its stage in the column {name}_entered_at, which is a field of "
       '{entity}: rename that field'),
    N_('an approval rule does one thing, require_approval: put what follows a decision in rules on '
       '{approved} or {rejected}'),
    N_('require_approval is asked when a record is written (create, update, change, stage) or by a person '
       '(on: request), not on a schedule'),
    N_("{entity} has no owner field, so it has no owner's manager"),
    N_("'{item}' is computed: name what it is computed from (a field, or the entity whose records it sums)"),
    N_('{child} has {count} reference fields to {entity}: name one ({choices})'),
    N_("'{name}' is a {type} field; the comment goes into a text or textarea field"),
    N_("'{name}' is computed by the engine, which is never held by a lock; lock the fields it is computed from"),
    N_("'{field}' is computed and cannot be set"),
    N_("approval rule '{rule}' is about {other}, this rule about {entity}: a decision's follow-up acts on "
       'the record decided'),
    N_('on: request is for approval rules: a person asks for the approval its require_approval action describes'),
    N_("no item '{name}' to put this {where}"),
    N_("'{where}:' only places items in a list that starts with '+'"),
    N_('reveals is for a formula, a roll-up or a default read through a reference: this field shows '
       'nothing but itself'),
    N_("stage '{stage}' requires {required}, which role '{role}' may not write ({mode}) although it may "
       'move {entity} records into this stage'),
    N_('derived fields read each other in a cycle: {cycle}'),
    N_("expression {text}: '{step}' in '{path}' is not a field of {entity}, so the path cannot go through it"),
    N_("'{old}' is still {article} {thing} here: only a removed {thing} can move its records"),
    N_("'{new}' is removed as well: move the records of '{old}' to {article} {thing} that stays"),
    N_("'{new}' is not {article} {thing} here"),
    N_('unknown file: a blueprint has {files} and the folders {folders}'),
    N_('{value} is not a size up to 100MB (bytes, or a number with B, KB, MB or GB)'),
    N_("a file field cannot have '{key}': its files are attached on the record's page or through the API"),
    N_("'{key}' applies to file fields only"),
    N_("expression {text} reads '{path}': a dotted path reads a linked record, and here there is no "
       "record to follow (e.g. a report's metric reads its aggregated columns)"),
    N_("'{field}' is required when {condition} but on no form section of views/{name}.yaml: the form "
       'cannot be saved while it is empty'),
    N_("'{field}' is required but on no form section of views/{name}.yaml: the form cannot be saved while "
       'it is empty'),
    N_('YAML error: unacceptable character {char}: control characters are not allowed\n'
       '  in {where}, position {position}'),
    N_('YAML error: {error}'),
    N_('YAML syntax error: {problem}'),
    N_('YAML syntax error: {detail}'),
    N_('not UTF-8 text ({reason})'),
    N_("option '{name}' is listed twice"),
    N_("only select and multiselect fields move the records of a removed option (a stage field's removed "
       'stages: `moved` on its pipeline)'),
    N_("'{name}' must name a field of type user"),
    N_('must name a field of type user'),
    N_("'{name}' must be a date or datetime field to be stamped when a stage is entered"),
    N_("'{name}' is set by its stages: it takes no formula, rollup or default"),
    N_('{entity} has no stage field with a pipeline'),
    N_("'{name}' is a system field every table has"),
    N_("'{name}' must name a boolean field of {entity}"),
    N_("stage '{name}' is listed twice"),
    N_("'{name}' must name a stage field of {entity}"),
    N_("'{name}' cannot name a field: in a condition (where) `{key}:` combines conditions"),
    N_("'{name}' is a {type} field: search looks in {types} fields"),
    N_("pipeline '{name}' is for {field}"),
    N_("views/{name}.yaml must describe entity '{entity}'"),
    N_('assign needs a role, a team or by_field (whom to choose among), not both team and by_field; a '
       'role given with either narrows it to the members with that role'),
    N_('map goes with by_field'),
    N_('{entity} has no owner field: name the user field to set with field:'),
    N_("'{name}' must name a reference field of another entity that points to {entity}"),
    N_("'{name}' is computed or read-only: a card cannot edit it"),
    N_("'{kind}' cannot act on a deleted record; after a delete a rule may {actions}"),
    N_("'{name}' must name a user field of {entity}"),
    N_("'{name}' makes the columns: a card changes it by moving"),
    N_('{entity} has no public pool (add `pool:` to the entity)'),
    N_("'{path}' is not an entity.field"),
    N_("'{key}' is for scheduled rules (on: schedule); this rule runs when a record changes"),
    N_('a {type} field cannot be edited on a card'),
    N_("role: gives users, but '{field}' is a {type} field"),
    N_("every: gives dates, but '{field}' is a {type} field"),
    N_("'{operator}' applies to date-time fields; '{path}' is a {type} field, which has no hours (use "
       'older_than_days or within)'),
    N_("'{operator}' applies to date-time fields; '{path}' is a {type} field"),
    N_("'{operator}' applies to stage fields only"),
    N_("pipeline '{name}' has no stall_after_days, so nothing is ever stalled"),
    N_("two targets are named '{name}': give one a `name:` of its own"),
    N_("'{field}' of {whose} is computed: a conversion cannot set it"),
    N_('a {type} field cannot be compared for duplicates'),
    N_("'{field}' is also given in map"),
    N_("the report already has a column '{name}'"),
    N_('a {kind} report needs measures (e.g. `measures: {example}`)'),
    N_('a matrix report groups by exactly two fields: rows, then columns'),
    N_("cannot {function} '{name}': a {type} field (sum and avg take integer, number, money or percent fields)"),
    N_("cannot group by '{path}': a {type} field"),
    N_("'{path}' is a {type} field; buckets group dates and date-times"),
    N_("a {kind} report takes no '{key}': it shows records, not groups"),
    N_("a {kind} report takes no '{key}': its rows are the pipeline's stages, in order"),
    N_("a {kind} report takes no '{key}': it shows every period of its range"),
    N_('a list report needs columns (the fields shown for each record)'),
    N_('columns are for list reports; a {kind} report shows its groups, measures and metrics'),
    N_('a funnel report needs a pipeline'),
    N_('a funnel counts stage changes by when they were made; give only `within` (filter records by a '
       'date in `where`)'),
    N_("cannot take the {function} of '{name}': a {type} field"),
    N_("target() takes the metric and the period, like target('revenue', 'month'), and perhaps an owner: "
       "target('revenue', 'month', owner)"),
    N_("target(metric, period, owner) needs `owner` in the blueprint's targets"),
    N_("'{period}' is not a period: use day, week, month, quarter, year or a relative period such as last_month"),
    N_("pipeline '{name}' is over {entity}, not {source}"),
    N_('a timeseries report needs `period: {example}`, the date that places a record in a period'),
    N_('period is for timeseries and funnel reports'),
    N_("cannot count '{name}': a location field"),
    N_("cannot sort by '{name}': a {type} field"),
    N_("'{name}' is a {type} field; targets.{key} needs a integer or number or money or percent field"),
    N_("'{name}' is a {type} field; targets.{key} needs a date or datetime field"),
    N_("'{name}' is a {type} field; targets.{key} needs a {types} field"),
    N_("'{name}' is a {type} field, not a date or date-time"),
    N_("'{name}' has a grid already on this form"),
    N_("'{name}' is the link to the parent: every row of the grid points to it"),
    N_("'{name}' is required on {entity} and has no default: the grid needs it as a column"),
    N_("{entity} has no owner: add `owner:` (a user field) for its owner to follow another record's"),
    N_("'{name}' is a {type} field; the owner follows a reference field ({references})"),
    N_("'{name}' links to no entity"),
    N_('owners follow each other in a cycle: {cycle}'),
    N_("'{name}' links to {entity}, which has no owner to follow"),
    N_('{field} is computed: the engine cannot stamp it'),
    N_("'{name}' is a {type} field; a follow-up counts for the record a reference field links to ({references})"),
    N_('{field} is computed (a formula, roll-up or autonumber): a follow-up sets a stored field'),
    N_('{field} is a {type} field and {at} a {at_type}: they must be of one type'),
    # after "...of another entity that points to {entity}"
    N_("'{name}' must name a reference field of {entity} that points to {target}"),
    N_("'{name}' is still an entity: only an entity that is gone can be renamed"),
    N_("provider '{name}' is declared twice"),
    N_("an oidc provider needs 'issuer' (its discovery document is read from there)"),
    N_("a wecom provider needs 'agent_id' (the application's AgentID)"),
    N_('passwords are off and no provider is declared: no one could sign in'),
    N_("'{name}' is a {type} field: an external key is a stored text or integer field"),
    N_("'{name}' is a {type} field computed by the engine: an external key is a stored text or integer field"),
    N_('{entity} declares no external_key: an inbound webhook finds its records by one'),
    N_("'{name}' is the external key: `key` gives it"),
    N_("'{name}' is computed: a webhook cannot set it"),
    N_("a daily report is due every day: 'due_day' is for weekly and monthly ones"),
    N_("a monthly report's 'due_day' is a day of the month (1-28)"),
    N_("a weekly report's 'due_day' is a weekday (mon ... sun)"),
    N_("'{name}' is named twice in {key}"),
    N_("report '{report}' must be a summary without group_by: a figure is one number"),
    N_("'excellent' is below 'pass'"),
    N_('a step needs `date:`, the date field its history window applies to'),
    N_("'{name}' is a {type} field; the period applies to a date or date-time field"),
    N_("'{name}' is a {type} field and '{other}' a {kind} field: they cannot be equal"),
    N_("'{name}' and '{other}' are {type} fields, which are not compared for equality"),
    N_("'{name}' and '{other}' point to different entities ({entity} and {target})"),
    N_("'{name}' and '{other}' share no option: they cannot be equal"),
)
# jsonschema's own words for the checks schemas.py does not word itself (tried last).
SCHEMA_MESSAGES: tuple[str, ...] = (
    N_('not allowed here: {description}'),
    N_('{value}: {description}'),
    N_('{value} is less than the minimum of {limit}'),
    N_('{value} is less than or equal to the minimum of {limit}'),
    N_('{value} is greater than the maximum of {limit}'),
    N_('{value} is greater than or equal to the maximum of {limit}'),
    N_('{value} should be non-empty'),
    N_('{value} is too short'),
    N_('{value} is too long'),
    N_('{value} is expected to be empty'),
    N_('{value} does not have enough properties'),
    N_('{value} has too many properties'),
    N_('{value} does not match {pattern}'),
    N_('{value} is not a {format}'),
    N_('{value} was expected'),
    N_('{value} has non-unique elements'),
    N_('{value} is not valid under any of the given schemas'),
    N_('{value} is valid under each of {schemas}'),
    N_('{value} does not contain items matching the given schema'),
    N_('{value} is a dependency of {key}'),
    N_('{value} should not be valid under {schema}'),
)
# More of what an unknown name should have been ('x' is not {what}).
MORE_WHATS: tuple[str, ...] = (
    N_('manager, a role or a user field of {entity} (choose from {choices})'),
    N_('a periodic report'),
    N_('a date field of {entity}'),
    N_('a measure or metric of the report'),
    N_('a figure of this report'),
    N_('a user field, a role or one of {keywords}'),
    N_('a field of each'),
)
# More hints, PyYAML's contexts among them ("while parsing a block mapping").
MORE_HINTS: tuple[str, ...] = (
    N_("write the list as [+, ...] to merge into the base's list"),
    N_('declare a provider under sign_in.providers, or keep passwords on'),
    N_('let {role} write {field} in roles.yaml, or take it out of requires'),
    N_('add it to a form section, with visible_when if it is needed only sometimes'),
    N_('one of {types}'),
    N_('give a group a `name:` or rename the measure or metric'),
    N_('while scanning a simple key'),
    N_('while parsing a block mapping'),
    N_('while parsing a block collection'),
    N_('while parsing a block node'),
    N_('while parsing a flow sequence'),
    N_('while parsing a flow mapping'),
    N_('while parsing a flow node'),
    N_('while scanning a quoted scalar'),
    N_('while scanning a plain scalar'),
    N_('while scanning for the next token'),
    N_('while scanning an alias'),
    N_('while scanning an anchor'),
    N_('while parsing a block scalar'),
)
# What PyYAML found wrong: "YAML syntax error: {problem}".
YAML_PROBLEMS: tuple[str, ...] = (
    N_('mapping values are not allowed here'),
    N_("could not find expected ':'"),
    N_('did not find expected key'),
    N_('did not find expected node content'),
    N_('did not find expected {token}'),
    N_('found unexpected end of stream'),
    N_('found character {char} that cannot start any token'),
    N_('expected <block end>, but found {token}'),
    N_('found undefined alias {name}'),
    N_('found unknown escape character {char}'),
)
# The schemas' descriptions of a value's form, said after the value ("{value}: {description}");
# matched exactly (some contain braces of their own).
DESCRIPTIONS: tuple[str, ...] = (
    N_('A CSS colour name or a hex colour. Quote hex colours in YAML (`"#c0392b"`): an unquoted `#` '
       'starts a comment.'),
    N_('A field (or dotted path) to sort by; a leading `-` sorts descending, a leading `+` (or none) ascending.'),
    N_('A field is computed by a formula or by a rollup, not both.'),
    N_('A field of the entity, or a dotted path that follows reference fields to a field of another '
       "entity (`customer.level` is the level of the order's customer)."),
    N_('A language code, optionally with a region: `zh`, `en`, `zh-TW`.'),
    N_('A machine name: lowercase letters, digits and underscores, starting with a letter, at most 50 '
       'characters. Used for entities, fields, stages, reports, roles and so on; it becomes a table or '
       'column name, so choose it once and keep it (rename with `renamed_from`).'),
    N_("A period relative to today, in the blueprint's time zone: `today`, `yesterday`, `tomorrow`, "
       '`this_week`, `last_week`, `next_week`, the same for `month`, `quarter` and `year`, or '
       '`last_N_days` / `next_N_days` (N from 1 to 9999).'),
    N_('A running number: `{n}` or `{n:04}` (padded) is replaced.'),
    N_('An entity name and one of its fields, joined by a dot.'),
    N_("DingTalk and Feishu: the name of the environment variable holding the robot's signing secret; "
       'each message is then signed (HMAC-SHA256 of the timestamp and the secret).'),
    N_('File fields: the largest file accepted, in bytes, or with a unit: `10MB`, `500KB`, `1GB` (powers '
       'of 1024). Default 25MB.'),
    N_('Give either per_base or count, not both.'),
    N_('One choice of a select or multiselect field: a plain value, or `{value, label, color}`.'),
    N_("Scheduled rules: the time of day (HH:MM, blueprint time zone) from which the day's (or, with "
       "`every: week`, Monday's) run is due. Quote it in YAML."),
    N_('The ISO 4217 code of the currency money fields are in.'),
    N_('The address people open the site at; links to records in emails and robot messages start with it '
       '(a mail program has no page to be relative to).'),
    N_('The name of the environment variable holding the SMTP password (read when a message is sent).'),
    N_('The name of the environment variable holding the key that signs the request (never the key '
       'itself: blueprints live in git).'),
    N_("The name of the environment variable holding the robot's webhook address."),
    N_("The robot's webhook address. It carries the robot's token: prefer `url_env`."),
    N_('The stored value of an option: a lowercase name (letters, digits, underscores) or a number.'),
    N_("When the daily digest is sent, in the blueprint's time zone (HH:MM; default 08:00)."),
    N_('Where to send it.'),
    N_('`each` gives the number of records: no count.'),
    N_('`each` gives the number of records: no per_base.'),
)
# Why an expression does not parse, tried before problem_words.ERRORS (the specific text first).
MORE_ERRORS: tuple[str, ...] = (
    N_('an expression must be text or a number, not {type}'),
    N_('expression too long ({count} characters; the limit is {limit})'),
    N_('expression is too deeply nested or malformed'),
    N_('expression is too large or too deeply nested'),
    N_("'{step}' in '{path}' is a user field: a path ends there, with one of {attributes}"),
    N_("'{step}' in '{path}' is not readable of a user (one of {attributes})"),
    N_('the dotted path {path} follows {count} links; a path follows at most {limit}'),
    N_('expressions cannot use keyword arguments; pass values in order (only {names}= is accepted here)'),
    N_('expressions cannot use {type} literals'),
    N_('expressions cannot use comprehensions'),
    N_('expressions cannot use generators'),
    N_('expressions cannot use assignment (:=)'),
    N_('expressions cannot use f-strings'),
    N_('expressions cannot use dict literals'),
    N_('expressions cannot use unpacking (*args)'),
    N_('expressions cannot use the @ operator'),
    N_('expressions cannot use bitwise operators'),
    N_('must be an expression, not an assignment'),
    N_('must be an expression, not an import'),
    N_('syntax error at column {column}: {python}'),
    N_('syntax error at line {line}: {python}'),
)
# Python's words for a syntax error: "syntax error at column {column}: {python}".
PYTHON_SYNTAX: tuple[str, ...] = (
    N_('invalid syntax'),
    N_('invalid syntax. Perhaps you forgot a comma?'),
    N_("'{bracket}' was never closed"),
    N_("unmatched '{bracket}'"),
    N_("closing parenthesis '{closing}' does not match opening parenthesis '{opening}'"),
    N_('unterminated string literal (detected at line {line})'),
    N_('invalid decimal literal'),
    N_('unexpected EOF while parsing'),
    N_("invalid character '{char}' (U+{code})"),
)
