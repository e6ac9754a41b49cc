"""What a model card may take from untrusted text (``--license``,
``--dataset-name``, label names, a dataset card's ``license``, metric
names from a metrics file, names in a checkpoint's config).

- Metadata ids follow the Hub's rules: a licence from the Hub's list
  (:data:`HUB_LICENSES`), or ``other`` with a ``license_name``; dataset
  and model ids by ``huggingface_hub``'s repo id validation. Anything
  else is refused with an :class:`InputError` naming the value.
- Text in the card body is escaped (:func:`md_text`: HTML and markdown,
  one line, bare URLs broken; :func:`md_name`: a plain name as a code
  span), so no heading, ``<script>``, link or image
  gets through.
"""
import html
import re
from typing import Optional, Tuple

from ..utils.errors import InputError

__all__ = ['HUB_LICENSES', 'check_license', 'check_repo_id', 'md_name',
           'md_text']

#: The licence identifiers of the Hub's documented list
#: (https://huggingface.co/docs/hub/repositories-licenses);
#: huggingface_hub does not ship it.
HUB_LICENSES = frozenset('''
apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m
bigscience-bloom-rail-1.0 bigcode-openrail-m afl-3.0 artistic-2.0 bsl-1.0
bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear c-uda cc cc0-1.0 cc-by-2.0
cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0
cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nd-4.0 cc-by-nc-nd-3.0 cc-by-nc-nd-4.0
cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 cc-by-nc-sa-4.0 cdla-sharing-1.0
cdla-permissive-1.0 cdla-permissive-2.0 wtfpl ecl-2.0 epl-1.0 epl-2.0
etalab-2.0 eupl-1.1 eupl-1.2 agpl-3.0 gfdl gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1
lgpl-3.0 isc lppl-1.3c ms-pl mpl-2.0 odc-by odbl openrail++ osl-3.0
postgresql ofl-1.1 ncsa unlicense zlib pddl lgpl-lr deepfloyd-if-license
llama2 llama3 llama3.1 llama3.2 llama3.3 gemma unknown other
'''.split())

#: ``license_name`` of ``license: other``: a short lowercase slug
_LICENSE_NAME = re.compile(r'^[a-z0-9][a-z0-9._-]{0,63}$')


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + '...'


def check_license(license, license_name: Optional[str] = None,
                  where: str = 'license') -> Tuple[str, Optional[str]]:
    """``(license, license_name)`` when they follow the Hub's rules:
    ``license`` in :data:`HUB_LICENSES`; ``other`` needs ``license_name``
    (a lowercase slug), which nothing else takes."""
    if not isinstance(license, str) or license not in HUB_LICENSES:
        raise InputError(
            f'{where} {_shown(license)} is not a Hub licence id: use one of '
            "the Hub's list (e.g. apache-2.0, mit, cc-by-4.0, cc-by-nc-4.0;"
            ' https://huggingface.co/docs/hub/repositories-licenses), or '
            'other with a licence name (--license other --license-name '
            'NAME)')
    if license != 'other':
        if license_name is not None:
            raise InputError(f'license_name {_shown(license_name)} is for '
                             f'license other only, not {license}')
        return license, None
    if not isinstance(license_name, str) or \
            not _LICENSE_NAME.match(license_name):
        raise InputError(
            f'{where} other needs a licence name (--license-name NAME: '
            'lowercase letters, digits, ".", "_" or "-"), found '
            f'{_shown(license_name)}')
    return license, license_name


def check_repo_id(repo_id: Optional[str], what: str = 'dataset id'
                  ) -> Optional[str]:
    """``repo_id`` when ``huggingface_hub`` accepts it as a repo id
    (None passes through)."""
    if repo_id is None:
        return None
    from huggingface_hub.utils import HFValidationError, validate_repo_id
    try:
        validate_repo_id(repo_id)
    except HFValidationError as err:
        raise InputError(f'{what} {_shown(repo_id)} is not a valid Hub id: '
                         f'{err}') from None
    return repo_id


_MARKDOWN = re.compile(r'([\\`*_{}\[\]()#+\-.!|~>])')


def md_text(value) -> str:
    """``value`` as plain text inside a markdown line: HTML escaped,
    markdown punctuation backslash-escaped, line breaks made spaces and
    bare URLs broken, so it renders as the characters it holds."""
    text = ' '.join(str(value).split())
    text = html.escape(text, quote=True)
    text = _MARKDOWN.sub(r'\\\1', text)
    text = text.replace('://', ':&#47;&#47;')
    return re.sub(r'(?i)\bwww\\?\.', 'www&#46;', text)


_PLAIN_NAME = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.@/+-]{0,199}$')


def md_name(value) -> str:
    """A plain name (letters, digits, ``_ . @ / + -``) as a code span;
    anything else as escaped text (:func:`md_text`)."""
    text = str(value)
    return f'`{text}`' if _PLAIN_NAME.match(text) else md_text(text)
