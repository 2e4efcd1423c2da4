/** Step types as GET /api/v1/step-types/ describes them (a subset, for tests). */
import type { StepType } from "@/lib/types";

export const STEP_TYPES: StepType[] = [
  {
    "name": "approval",
    "side_effects": "never",
    "side_effects_note": "",
    "calls_hosts": false,
    "description": "Human in the loop: wait for an approve/reject decision, or a timeout.",
    "category": "flow",
    "config_schema": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "message": {
          "type": "string",
          "title": "What to approve"
        },
        "timeout_seconds": {
          "type": "number",
          "exclusiveMinimum": 0,
          "maximum": 31622400,
          "title": "Timeout (s)",
          "description": "Wait at most this long; then take the timeout branch (or fail)."
        },
        "on_timeout": {
          "type": "string",
          "enum": [
            "branch",
            "fail"
          ],
          "default": "branch",
          "title": "On timeout"
        }
      }
    },
    "output_schema": {
      "type": "object",
      "properties": {
        "branch": {
          "enum": [
            "approved",
            "rejected",
            "timeout"
          ]
        },
        "payload": {
          "type": "object"
        }
      }
    },
    "example": {
      "message": "Refund {{ input.amount }} EUR to {{ input.customer }}?",
      "timeout_seconds": 86400
    },
    "example_data": {"input": {"amount": 120, "customer": "Ada Lovelace"}},
    "branches": [
      "approved",
      "rejected",
      "timeout"
    ]
  },
  {
    "name": "conditional",
    "side_effects": "never",
    "side_effects_note": "",
    "calls_hosts": false,
    "description": "Choose a branch: true/false from one condition, or the first matching case.",
    "category": "flow",
    "config_schema": {
      "type": "object",
      "properties": {
        "condition": {
          "type": [
            "boolean",
            "object"
          ],
          "description": "A template that renders to true or false, e.g. {{ input.amount > 100 }}; or a field condition, e.g. {\"field\": \"amount\", \"operator\": \"gt\", \"value\": 100}",
          "required": [
            "field",
            "operator"
          ],
          "properties": {
            "field": {
              "type": "string",
              "minLength": 1,
              "maxLength": 500,
              "title": "Field",
              "description": "A dotted path into the run's input (customer.plan); input.<path> or steps.<key>.output.<path> read the run's data as templates do."
            },
            "operator": {
              "type": "string",
              "enum": [
                "eq",
                "ne",
                "gt",
                "gte",
                "lt",
                "lte",
                "in",
                "contains",
                "exists",
                "matches"
              ],
              "title": "Operator",
              "description": "eq, ne: equal or not; gt, gte, lt, lte: compare two numbers or two strings; in: the field is one of value (a list) or part of value (a string); contains: the field (a list, string or object) contains value; exists: the field is present (value false: absent); matches: the field (a string or a number) matches the regular expression value, searched in at most 1000 characters (fewer for a pattern with several +, * or {m,n}: a longer field fails the step)."
            },
            "value": {
              "title": "Value",
              "description": "What the field is compared with (not used by exists)."
            }
          },
          "additionalProperties": false,
          "allOf": [
            {
              "if": {
                "properties": {
                  "operator": {
                    "enum": [
                      "eq",
                      "ne",
                      "gt",
                      "gte",
                      "lt",
                      "lte",
                      "in",
                      "contains",
                      "matches"
                    ]
                  }
                },
                "required": [
                  "operator"
                ]
              },
              "then": {
                "required": [
                  "value"
                ]
              }
            },
            {
              "if": {
                "properties": {
                  "operator": {
                    "const": "in"
                  }
                },
                "required": [
                  "operator"
                ]
              },
              "then": {
                "properties": {
                  "value": {
                    "type": [
                      "array",
                      "string"
                    ]
                  }
                }
              }
            },
            {
              "if": {
                "properties": {
                  "operator": {
                    "enum": [
                      "gt",
                      "gte",
                      "lt",
                      "lte"
                    ]
                  }
                },
                "required": [
                  "operator"
                ]
              },
              "then": {
                "properties": {
                  "value": {
                    "type": [
                      "number",
                      "string"
                    ]
                  }
                }
              }
            },
            {
              "if": {
                "properties": {
                  "operator": {
                    "const": "exists"
                  }
                },
                "required": [
                  "operator"
                ]
              },
              "then": {
                "properties": {
                  "value": {
                    "type": "boolean"
                  }
                }
              }
            },
            {
              "if": {
                "properties": {
                  "operator": {
                    "const": "matches"
                  }
                },
                "required": [
                  "operator"
                ]
              },
              "then": {
                "properties": {
                  "value": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 200
                  }
                }
              }
            }
          ],
          "title": "Condition"
        },
        "cases": {
          "type": "array",
          "title": "Cases (the first true one wins)",
          "minItems": 1,
          "items": {
            "type": "object",
            "required": [
              "branch",
              "when"
            ],
            "additionalProperties": false,
            "properties": {
              "branch": {
                "type": "string",
                "pattern": "^[A-Za-z0-9_-]{1,100}$"
              },
              "when": {
                "type": [
                  "boolean",
                  "object"
                ],
                "description": "A template that renders to true or false, e.g. {{ input.amount > 100 }}; or a field condition, e.g. {\"field\": \"amount\", \"operator\": \"gt\", \"value\": 100}",
                "required": [
                  "field",
                  "operator"
                ],
                "properties": {
                  "field": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 500,
                    "title": "Field",
                    "description": "A dotted path into the run's input (customer.plan); input.<path> or steps.<key>.output.<path> read the run's data as templates do."
                  },
                  "operator": {
                    "type": "string",
                    "enum": [
                      "eq",
                      "ne",
                      "gt",
                      "gte",
                      "lt",
                      "lte",
                      "in",
                      "contains",
                      "exists",
                      "matches"
                    ],
                    "title": "Operator",
                    "description": "eq, ne: equal or not; gt, gte, lt, lte: compare two numbers or two strings; in: the field is one of value (a list) or part of value (a string); contains: the field (a list, string or object) contains value; exists: the field is present (value false: absent); matches: the field (a string or a number) matches the regular expression value, searched in at most 1000 characters (fewer for a pattern with several +, * or {m,n}: a longer field fails the step)."
                  },
                  "value": {
                    "title": "Value",
                    "description": "What the field is compared with (not used by exists)."
                  }
                },
                "additionalProperties": false,
                "allOf": [
                  {
                    "if": {
                      "properties": {
                        "operator": {
                          "enum": [
                            "eq",
                            "ne",
                            "gt",
                            "gte",
                            "lt",
                            "lte",
                            "in",
                            "contains",
                            "matches"
                          ]
                        }
                      },
                      "required": [
                        "operator"
                      ]
                    },
                    "then": {
                      "required": [
                        "value"
                      ]
                    }
                  },
                  {
                    "if": {
                      "properties": {
                        "operator": {
                          "const": "in"
                        }
                      },
                      "required": [
                        "operator"
                      ]
                    },
                    "then": {
                      "properties": {
                        "value": {
                          "type": [
                            "array",
                            "string"
                          ]
                        }
                      }
                    }
                  },
                  {
                    "if": {
                      "properties": {
                        "operator": {
                          "enum": [
                            "gt",
                            "gte",
                            "lt",
                            "lte"
                          ]
                        }
                      },
                      "required": [
                        "operator"
                      ]
                    },
                    "then": {
                      "properties": {
                        "value": {
                          "type": [
                            "number",
                            "string"
                          ]
                        }
                      }
                    }
                  },
                  {
                    "if": {
                      "properties": {
                        "operator": {
                          "const": "exists"
                        }
                      },
                      "required": [
                        "operator"
                      ]
                    },
                    "then": {
                      "properties": {
                        "value": {
                          "type": "boolean"
                        }
                      }
                    }
                  },
                  {
                    "if": {
                      "properties": {
                        "operator": {
                          "const": "matches"
                        }
                      },
                      "required": [
                        "operator"
                      ]
                    },
                    "then": {
                      "properties": {
                        "value": {
                          "type": "string",
                          "minLength": 1,
                          "maxLength": 200
                        }
                      }
                    }
                  }
                ]
              }
            }
          }
        },
        "default": {
          "type": "string",
          "title": "Branch when no case matches",
          "default": "default",
          "pattern": "^[A-Za-z0-9_-]{1,100}$"
        }
      },
      "oneOf": [
        {
          "required": [
            "condition"
          ]
        },
        {
          "required": [
            "cases"
          ]
        }
      ],
      "additionalProperties": false
    },
    "output_schema": {
      "type": "object",
      "properties": {
        "branch": {
          "type": "string"
        }
      }
    },
    "example": {
      "condition": "{{ input.plan == 'pro' }}"
    },
    "example_data": {"input": {"plan": "pro"}},
    "branches": [
      "true",
      "false"
    ]
  },
  {
    "name": "http_request",
    "side_effects": "by_config",
    "side_effects_note": "a method other than GET and HEAD",
    "calls_hosts": true,
    "description": "Call an HTTP API (JSON or text), with retries on 5xx and timeouts.",
    "category": "integration",
    "config_schema": {
      "type": "object",
      "required": [
        "url"
      ],
      "properties": {
        "method": {
          "type": "string",
          "enum": [
            "GET",
            "POST",
            "PUT",
            "PATCH",
            "DELETE",
            "HEAD",
            "OPTIONS"
          ],
          "default": "GET",
          "title": "Method"
        },
        "url": {
          "type": "string",
          "minLength": 1,
          "title": "URL"
        },
        "headers": {
          "type": "object",
          "additionalProperties": {
            "type": "string"
          },
          "title": "Headers"
        },
        "query": {
          "type": "object",
          "additionalProperties": {
            "type": [
              "string",
              "number",
              "boolean"
            ]
          },
          "title": "Query parameters"
        },
        "json": {
          "title": "JSON body"
        },
        "body": {
          "type": "string",
          "title": "Raw body"
        },
        "timeout": {
          "type": "number",
          "exclusiveMinimum": 0,
          "maximum": 600,
          "default": 30,
          "title": "Timeout (s)"
        },
        "success_status": {
          "type": "array",
          "items": {
            "type": "integer",
            "minimum": 100,
            "maximum": 599
          },
          "title": "Success status codes (default: 2xx)"
        },
        "follow_redirects": {
          "type": "boolean",
          "default": true
        },
        "auth": {
          "type": "object",
          "title": "Authentication (from a stored credential)",
          "required": [
            "type",
            "credential"
          ],
          "properties": {
            "type": {
              "type": "string",
              "enum": [
                "bearer",
                "basic",
                "header"
              ],
              "title": "Type",
              "description": "bearer: Authorization: Bearer <secret>; basic: Authorization: Basic <username:secret>; header: <header>: <secret>"
            },
            "credential": {
              "type": "string",
              "minLength": 1,
              "title": "Credential",
              "format": "credential",
              "description": "The name of a stored credential holding the secret"
            },
            "header": {
              "type": "string",
              "pattern": "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
              "title": "Header name (type header)",
              "examples": [
                "X-Api-Key"
              ]
            },
            "username": {
              "type": "string",
              "pattern": "^[^:]*$",
              "title": "Username (type basic)"
            }
          },
          "allOf": [
            {
              "if": {
                "required": [
                  "type"
                ],
                "properties": {
                  "type": {
                    "const": "header"
                  }
                }
              },
              "then": {
                "required": [
                  "header"
                ]
              }
            },
            {
              "if": {
                "required": [
                  "type"
                ],
                "properties": {
                  "type": {
                    "const": "basic"
                  }
                }
              },
              "then": {
                "required": [
                  "username"
                ]
              }
            }
          ],
          "additionalProperties": false
        }
      },
      "not": {
        "required": [
          "json",
          "body"
        ]
      },
      "additionalProperties": false
    },
    "output_schema": {
      "type": "object",
      "properties": {
        "status_code": {
          "type": "integer"
        },
        "headers": {
          "type": "object"
        },
        "body": {}
      }
    },
    "example": {
      "method": "POST",
      "url": "https://crm.example.com/api/contacts",
      "json": {
        "email": "{{ input.email }}"
      },
      "auth": {
        "type": "bearer",
        "credential": "crm_token"
      }
    },
    "example_data": {"input": {"email": "ada@example.com"}},
    "branches": null
  },
  {
    "name": "log",
    "side_effects": "never",
    "side_effects_note": "",
    "calls_hosts": false,
    "description": "Write a message to the execution's log.",
    "category": "utility",
    "config_schema": {
      "type": "object",
      "required": [
        "message"
      ],
      "properties": {
        "message": {
          "type": "string",
          "title": "Message",
          "minLength": 1
        },
        "level": {
          "type": "string",
          "enum": [
            "debug",
            "info",
            "warning",
            "error"
          ],
          "default": "info"
        }
      },
      "additionalProperties": false
    },
    "output_schema": {
      "type": "object",
      "properties": {
        "message": {
          "type": "string"
        }
      }
    },
    "example": {
      "message": "New signup: {{ input.email }}",
      "level": "info"
    },
    "example_data": {"input": {"email": "ada@example.com"}},
    "branches": null
  },
  {
    "name": "send_email",
    "side_effects": "always",
    "side_effects_note": "",
    "calls_hosts": true,
    "description": "Send an email (text and optional HTML) through the configured email backend.",
    "category": "integration",
    "config_schema": {
      "type": "object",
      "required": [
        "to",
        "subject",
        "body"
      ],
      "properties": {
        "to": {
          "type": [
            "string",
            "array"
          ],
          "minLength": 1,
          "minItems": 1,
          "items": {
            "type": "string",
            "minLength": 1
          },
          "title": "To",
          "description": "One address, a list, or a comma-separated string. \"Asha <asha@example.com>\" is accepted."
        },
        "cc": {
          "type": [
            "string",
            "array"
          ],
          "minLength": 1,
          "minItems": 1,
          "items": {
            "type": "string",
            "minLength": 1
          },
          "title": "Cc"
        },
        "bcc": {
          "type": [
            "string",
            "array"
          ],
          "minLength": 1,
          "minItems": 1,
          "items": {
            "type": "string",
            "minLength": 1
          },
          "title": "Bcc"
        },
        "reply_to": {
          "type": [
            "string",
            "array"
          ],
          "minLength": 1,
          "minItems": 1,
          "items": {
            "type": "string",
            "minLength": 1
          },
          "title": "Reply-To"
        },
        "from_email": {
          "type": "string",
          "minLength": 1,
          "title": "From",
          "description": "Defaults to the DEFAULT_FROM_EMAIL setting."
        },
        "subject": {
          "type": "string",
          "minLength": 1,
          "maxLength": 998,
          "title": "Subject",
          "description": "One line: line breaks become spaces."
        },
        "body": {
          "type": "string",
          "title": "Body (text)"
        },
        "html_body": {
          "type": "string",
          "title": "Body (HTML)",
          "description": "Optional. Sent as an alternative to the text body."
        }
      },
      "additionalProperties": false
    },
    "output_schema": {
      "type": "object",
      "properties": {
        "message_id": {
          "type": "string"
        },
        "to": {
          "type": "array",
          "items": {
            "type": "string"
          }
        },
        "recipients": {
          "type": "integer",
          "description": "To, Cc and Bcc together."
        }
      }
    },
    "example": {
      "to": "{{ input.email }}",
      "subject": "Welcome, {{ input.name }}",
      "body": "Hello {{ input.name }}, your patient id is {{ steps.create_patient.output.body.id }}."
    },
    "example_data": {"input": {"email": "ada@example.com", "name": "Ada"}, "steps": {"create_patient": {"output": {"body": {"id": 42}}}}},
    "branches": null
  },
  {
    "name": "file",
    "side_effects": "by_config",
    "side_effects_note": "write, append or delete",
    "calls_hosts": false,
    "description": "Read, write, append, list or delete files under the files root (a directory, or S3 and other storages).",
    "category": "data",
    "config_schema": {
      "type": "object",
      "required": [
        "operation"
      ],
      "properties": {
        "operation": {
          "type": "string",
          "enum": [
            "read",
            "write",
            "append",
            "list",
            "delete"
          ],
          "title": "Operation",
          "description": "read a file, write it (replacing it), append to it, list a directory, or delete a file."
        },
        "path": {
          "type": "string",
          "maxLength": 1024,
          "title": "Path",
          "description": "Relative to the files root, with / between directories: reports/{{ input.date }}.csv. No .., no absolute path, no backslash; a symlink leading out of the root is refused. list: a directory (empty: the root). write and append create missing directories."
        },
        "content": {
          "type": [
            "string",
            "number",
            "integer",
            "boolean",
            "object",
            "array",
            "null"
          ],
          "title": "Content",
          "description": "write, append: the text to store (in the encoding), or any other JSON value (an object, a list...), stored as JSON. {{ steps.<key>.output }} works."
        },
        "encoding": {
          "type": "string",
          "enum": [
            "utf-8",
            "base64"
          ],
          "default": "utf-8",
          "title": "Encoding",
          "description": "utf-8: content is text. base64: content is base64 (binary files); read answers base64."
        },
        "max_bytes": {
          "type": "integer",
          "minimum": 1,
          "title": "Size limit (bytes)",
          "description": "The largest file read or content written; at most (and by default) FLOWPILOT_FILES_MAX_BYTES."
        },
        "max_entries": {
          "type": "integer",
          "minimum": 1,
          "title": "Most entries (list)",
          "description": "list answers at most this many entries (truncated: true when there are more); at most (and by default) FLOWPILOT_FILES_MAX_LIST_ENTRIES."
        }
      },
      "additionalProperties": false,
      "allOf": [
        {
          "if": {
            "properties": {
              "operation": {
                "enum": [
                  "read",
                  "write",
                  "append",
                  "delete"
                ]
              }
            },
            "required": [
              "operation"
            ]
          },
          "then": {
            "required": [
              "path"
            ],
            "properties": {
              "path": {
                "minLength": 1
              }
            }
          }
        },
        {
          "if": {
            "properties": {
              "operation": {
                "enum": [
                  "write",
                  "append"
                ]
              }
            },
            "required": [
              "operation"
            ]
          },
          "then": {
            "required": [
              "content"
            ]
          }
        }
      ]
    },
    "output_schema": {
      "type": "object",
      "required": [
        "path"
      ],
      "properties": {
        "path": {
          "type": "string",
          "description": "The path, relative to the files root."
        },
        "content": {
          "type": "string",
          "description": "read: the file's text (or base64)."
        },
        "size": {
          "type": "integer",
          "description": "read: the file's size; write, append: its size after."
        },
        "entries": {
          "type": "array",
          "description": "list: {name, type (file, directory, other), size}.",
          "items": {
            "type": "object",
            "required": [
              "name",
              "type",
              "size"
            ],
            "properties": {
              "name": {
                "type": "string"
              },
              "type": {
                "enum": [
                  "file",
                  "directory",
                  "other"
                ]
              },
              "size": {
                "type": [
                  "integer",
                  "null"
                ]
              }
            }
          }
        },
        "truncated": {
          "type": "boolean",
          "description": "list: there were more entries than max_entries."
        },
        "deleted": {
          "type": "boolean",
          "description": "delete: false when there was no such file."
        }
      }
    },
    "example": {
      "operation": "write",
      "path": "reports/{{ input.date }}.csv",
      "content": "date,signups\n{{ input.date }},{{ input.signups }}\n"
    },
    "example_data": {
      "input": {
        "date": "2026-12-01",
        "signups": 42
      }
    },
    "branches": null
  },
  {
    "name": "sql",
    "side_effects": "by_config",
    "side_effects_note": "read_only false (a write)",
    "calls_hosts": false,
    "description": "Run one parameterised SQL statement (PostgreSQL or SQLite) against the database of a stored credential: read-only by default, with a row cap and a statement timeout.",
    "category": "integration",
    "config_schema": {
      "type": "object",
      "required": [
        "credential",
        "query"
      ],
      "properties": {
        "credential": {
          "type": "string",
          "minLength": 1,
          "maxLength": 200,
          "title": "Credential",
          "format": "credential",
          "description": "The name of a stored credential holding the database's DSN: postgresql://user:password@host:5432/dbname, or sqlite:///name.db (a file in FLOWPILOT_SQL_SQLITE_DIRS)."
        },
        "query": {
          "type": "string",
          "minLength": 1,
          "maxLength": 65536,
          "format": "code",
          "title": "Query",
          "description": "One SQL statement, never templated: put values in params and refer to them as %(name)s on PostgreSQL (a literal % is written %%) or :name on SQLite. A second statement after a ; is refused."
        },
        "params": {
          "type": "object",
          "title": "Parameters",
          "maxProperties": 100,
          "propertyNames": {
            "pattern": "^[A-Za-z_][A-Za-z0-9_]{0,62}$"
          },
          "description": "Values bound to the query's named parameters; templates allowed ({\"email\": \"{{ input.email }}\"}). An object is bound as JSON (jsonb on PostgreSQL), a list of scalars as an array on PostgreSQL (= ANY(%(ids)s)) or JSON text on SQLite."
        },
        "read_only": {
          "type": "boolean",
          "default": true,
          "title": "Read only",
          "description": "Run in a read-only transaction (PostgreSQL) or open the file read-only (SQLite): the database refuses any write. Turn off to INSERT, UPDATE, DELETE or change the schema; the statement is then committed."
        },
        "max_rows": {
          "type": "integer",
          "minimum": 1,
          "default": 1000,
          "title": "Max rows",
          "description": "At most this many rows in the output (at most FLOWPILOT_SQL_MAX_ROWS); `truncated` says when there were more."
        },
        "timeout_seconds": {
          "type": "number",
          "exclusiveMinimum": 0,
          "default": 30,
          "title": "Statement timeout (s)",
          "description": "The database cancels the statement after this long (at most FLOWPILOT_SQL_MAX_TIMEOUT_SECONDS, and within the step's timeout)."
        }
      },
      "additionalProperties": false
    },
    "output_schema": {
      "type": "object",
      "required": [
        "rows",
        "columns",
        "truncated",
        "rowcount"
      ],
      "properties": {
        "rows": {
          "type": "array",
          "items": {
            "type": "object"
          },
          "description": "One object per row, by column name. Dates and times are ISO 8601 strings, numerics (Decimal) strings, intervals seconds; binary values are refused."
        },
        "columns": {
          "type": "array",
          "items": {
            "type": "string"
          }
        },
        "truncated": {
          "type": "boolean",
          "description": "Rows were left out (max_rows or the output size cap)"
        },
        "rowcount": {
          "type": [
            "integer",
            "null"
          ],
          "description": "Rows the statement affected (INSERT, UPDATE, DELETE), as the database says; null when it does not say"
        }
      }
    },
    "example": {
      "credential": "orders_db",
      "query": "SELECT id, status, total FROM orders WHERE email = %(email)s",
      "params": {
        "email": "{{ input.email }}"
      },
      "read_only": true,
      "max_rows": 100
    },
    "example_data": {
      "input": {
        "email": "ada@example.com"
      }
    },
    "branches": null
  }
];
