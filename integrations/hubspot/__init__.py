"""HubSpot CRM v3: contacts and deals as raw page bodies, from the API or from demo files, and their parser.

Public API::

    HubSpotClient(access_token, host=None, page_size=100, max_retries=5, backoff_factor=0.5)
    DemoHubSpotSource(root)
    HubSpotSource                      # the Protocol both implement: list_pages, search_pages, calls
    Page(body, origin)                 # what they yield: a response body, untouched
    PageFile(path); read_pages(con, page_file, object_type, properties, view, consume) -> (result, broken pages)
    DEFAULT_PROPERTIES, MODIFIED_PROPERTY, default_properties(object_type)
"""

from integrations.hubspot.client import HubSpotClient
from integrations.hubspot.demo import DemoHubSpotSource
from integrations.hubspot.errors import HubSpotApiError, HubSpotError, HubSpotPageError, HubSpotSearchLimitError
from integrations.hubspot.paging import Page
from integrations.hubspot.parse import PageFile, read_pages
from integrations.hubspot.properties import (
    DEFAULT_ASSOCIATIONS,
    DEFAULT_PROPERTIES,
    MODIFIED_PROPERTY,
    ObjectType,
    default_properties,
)
from integrations.hubspot.source import HubSpotSource

__all__ = [
    "DEFAULT_ASSOCIATIONS",
    "DEFAULT_PROPERTIES",
    "MODIFIED_PROPERTY",
    "DemoHubSpotSource",
    "HubSpotApiError",
    "HubSpotClient",
    "HubSpotError",
    "HubSpotPageError",
    "HubSpotSearchLimitError",
    "HubSpotSource",
    "ObjectType",
    "Page",
    "PageFile",
    "default_properties",
    "read_pages",
]
