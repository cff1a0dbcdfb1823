"""The vocabulary of the offline rules: word lists and patterns that say what a sentence is about.

Kept apart from the rules themselves (:mod:`.rules`) so the shapes read as code and the words as data.
"""

from __future__ import annotations

import re


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Verbs whose object may be a gerund or an infinitive ("I love hiking", "I tend to…").
GERUND_VERBS = words("love like hate enjoy prefer dislike adore detest loathe avoid stick tend rely need want")
# Activities that are a fact on their own ("I code", "I volunteer").
INTRANSITIVE_VERBS = words(
    "code program cook bake swim hike climb paint draw knit garden travel surf ski dance sing "
    "freelance consult volunteer commute cycle"
)

ROLE_LINE = re.compile(
    r"^\s*(user|human|me|you|assistant|ai|bot|system|tool|function|gpt|chatgpt|claude|model)\s*:\s?(.*)$",
    re.IGNORECASE,
)
USER_ROLES = {"user", "human", "me"}

# Any of these anywhere in the text: the whole text is an attempt to steer the memory or the model.
INJECTION = re.compile(
    r"""
    \b(?:ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,30}
        \b(?:instructions?|rules|prompts?|guidelines|messages|context|directions|everything)\b
    | \byou\s+are\s+now\b | \bfrom\s+now\s+on\b | \bpretend\s+(?:to\s+be|you)\b
    | (?:^|[.!?\n]\s*|\byou\s+(?:will|must|should|can|now)\s+|please\s+)act\s+as\b
    | (?:i'm|i\s+am|user\s+is)\s+(?:the\s+|an?\s+)?(?:admin|administrator|root|superuser|owner)[\s.!]*$
    | \brole-?play\b | \bnew\s+(?:instructions|rules|role|persona)\b | \bjailbreak | \bdeveloper\s+mode\b
    | \bsystem\s*(?:prompt|message)\b | (?:^|[\s\[<(])system\s*: | \[/?inst\] | <\|[a-z_]+\|> | </?system>
    | \b(?:admin|administrator|root|sudo|elevated|unrestricted|full)\s+(?:access|privileges|permissions|rights)\b
    | \b(?:always|never)\s+(?:say|refuse|mention|tell)\b | \bnever\s+(?:respond|reply|answer)\b
    | \bthe\s+(?:assistant|ai|model|bot)\s+(?:must|should|will|shall)\b
    | \b(?:obey|comply\s+with)\s+(?:me|my|the\s+user)\b
    | (?:^|[.!?\n]\s*)(?:please\s+)?(?:remember|memori[sz]e|note|save|store|record|keep\s+in\s+mind
        |don'?t\s+forget|do\s+not\s+forget|make\s+a\s+note)\b
    | \b(?:remember|memori[sz]e|save|store|record)\s+(?:that|this|the\s+following|it)\b
    """,
    re.IGNORECASE | re.VERBOSE,
)

SECRET = re.compile(
    r"""
    \b(?:passwords?|passcodes?|passphrases?|pins?|pin\s+code|api[\s_-]?keys?|access\s+keys?|secret
        |secret\s+keys?|private\s+keys?|ssh\s+keys?|tokens?|credentials?|logins?|ssn|social\s+security
        |credit\s+cards?|debit\s+cards?|card\s+numbers?|cvv|iban|bank\s+account|account\s+numbers?
        |routing\s+numbers?|seed\s+phrase|recovery\s+phrase|mnemonic|2fa|otp
        |(?:phone|mobile|cell|telephone|fax|whatsapp)\s+(?:numbers?|no))\b
    | \b(?:sk|pk|rk)[-_][A-Za-z0-9_\-]{8,} | \bgh[pousr]_[A-Za-z0-9]{8,} | \bgithub_pat_ | \bxox[abprs]-
    | \bAKIA[0-9A-Z]{8,} | \bAIza[0-9A-Za-z_\-]{8,} | \beyJ[A-Za-z0-9_\-]{8,}
    | \b(?=[A-Za-z0-9_\-]*\d)(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{24,}\b
    | \d(?:[\s\-.()]*\d){7,}
    | [\w.+-]+@[\w-]+\.[\w.-]+
    | \b\d+\s+\w+\s+(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|way|court|ct)\b
    """,
    re.IGNORECASE | re.VERBOSE,
)

QUESTION_START = re.compile(
    r"^(?:who|what|what's|whats|when|where|why|how|which|whose|whom|is|are|am|was|were|do|does|did|can|could"
    r"|would|will|should|shall|may|might|have|has|had|any|anyone)\b",
    re.IGNORECASE,
)
# Sentences mentioning the listener talk to (or quote) the assistant, not about the user.
ADDRESSED = re.compile(r"\b(?:you|your|yours|yourself|ya|ur|assistant|chatbot)\b|(?<![.\w])u\b(?!\.)", re.IGNORECASE)
MOMENTARY = re.compile(
    r"""\b(?:today|tonight|tomorrow|yesterday|now|right\s+now|atm|at\s+the\s+moment|for\s+the\s+moment
    |this\s+(?:morning|afternoon|evening|week|weekend|month|time)|later|soon|earlier|just\s+now
    |(?:next|last)\s+(?:night|week|weekend|month|year|time|monday|tuesday|wednesday|thursday|friday
        |saturday|sunday)
    |in\s+a\s+(?:minute|moment|sec|second|bit|while)|at\s+the\s+minute)\b""",
    re.IGNORECASE | re.VERBOSE,
)
UNCERTAIN = re.compile(
    r"""\b(?:if|imagine|suppose|supposing|pretend|hypothetically|what\s+if|let'?s\s+say|would|could|might
    |maybe|perhaps|probably|possibly|guess|wish|hope|lol|lmao|rofl|haha\w*|jk|just\s+kidding|kidding
    |joking|sarcasm|/s)\b|[?"“”]|😂|🤣|😉""",
    re.IGNORECASE | re.VERBOSE,
)
TROUBLE = re.compile(
    r"\b(?:bugs?|errors?|exceptions?|stack\s*traces?|tracebacks?|crash(?:es|ed|ing)?|fails?|failing|broken"
    r"|issues?|problems?|questions?|help|stuck|deadline|meeting|appointment)\b",
    re.IGNORECASE,
)
DEICTIC = re.compile(r"\b(?:here|this|these|those)\b", re.IGNORECASE)
VAGUE_OBJECT = {"it", "that", "them", "there", "so", "too", "a lot", "it a lot", "that a lot"}

FILLER = re.compile(
    r"""^(?:(?:oh|and|also|so|well|actually|anyway|anyways|btw|by\s+the\s+way|fyi|fwiw|for\s+context
    |for\s+the\s+record|just\s+so\s+you\s+know|just\s+fyi|just\s+a\s+heads\s+up|heads\s+up|ok|okay|yeah
    |yes|no|nope|hi|hello|hey|hiya|howdy|greetings|good\s+(?:morning|afternoon|evening)|please
    |to\s+be\s+honest|tbh|honestly|basically|personally|in\s+general|generally\s+speaking)
    (?:\s+there)?\b[\s,:;!.\-—–]*)+""",
    re.IGNORECASE | re.VERBOSE,
)

MOOD = words(
    "tired exhausted sleepy hungry thirsty bored sad upset happy excited stressed anxious nervous "
    "worried angry mad annoyed frustrated confused sick ill busy done finished ready sorry glad "
    "curious lost stuck late early free available away online offline here back home fine good "
    "great ok okay well alright sure unsure not afraid scared cold hot feeling kind kinda sort a "
    "about out off on at in new interested thinking wondering hoping planning trying going gonna "
    "looking having getting doing heading leaving coming waiting still also just almost nearly "
    "literally starving dying pumped thrilled disappointed overwhelmed fed over so very really "
    "too"
)
# Moods that are checked only as the first word after "I'm"; "a", "not", "on" etc. above are
# refined by I_AM_OK below so that "I'm a nurse" and "I'm not a morning person" still pass.
I_AM_OK = re.compile(
    r"^(?:an?\s+(?!bit\b|little\b|lot\b|mess\b|wreck\b)\w|not\s+(?:an?\s|allergic|vegan|vegetarian|religious"
    r"|married|a\s+morning|a\s+fan)|at\s+(?:home\s+with|ease\s+with)|in\s+(?:my|the)\s+\w+s\b"
    r"|on\s+(?:the|a)\s+\w+\s+team\b|good\s+at\b|great\s+at\b"
    r"|afraid\s+of\b|scared\s+of\b|sort\s+of\s+a\b|kind\s+of\s+a\b|very\s+allergic\b|really\s+allergic\b"
    r"|still\s+(?:a|an|vegan|vegetarian|married|single)\b|also\s+\w)",
    re.IGNORECASE,
)
ING_OK = words("learning studying living teaching raising working majoring training")
# "I'm <Capitalised>" is a name unless the word is a nationality, religion or a capitalised adjective.
I_AM_CAPITAL_IS_ATTRIBUTE = re.compile(
    r"^(?!(?:Brian|Ian|Julian|Adrian|Vivian|Damian|Sebastian|Fabian|Lil+ian|Gil+ian|Jil+ian|Marian|Dorian"
    r"|Florian|Maximilian|Kian|Cian|Kil+ian|Bastian|Trish|Danish|Hamish|Rish)$)"
    r"(?:\w+(?:ese|ish|ian|ean|ican|ch)|German|Korean|Kenyan|Venezuelan|Cuban|Moroccan|Tibetan|Afghan|Thai"
    r"|Greek|Swiss|Dutch|Kiwi|Aussie|Brit|Israeli|Pakistani|Iraqi|Saudi|Kuwaiti|Bangladeshi|Nepali|Somali"
    r"|Omani|Qatari|Yemeni|Emirati|Azerbaijani|Muslim|Hindu|Buddhist|Jewish|Catholic|Christian|Protestant"
    r"|Mormon|Sikh|Jain|Vegan|Vegetarian|Pescatarian|Diabetic|Celiac|Coeliac|Married|Single|Retired"
    r"|Left-handed|Right-handed|Deaf|Blind|Autistic|Dyslexic)$"
)

ADVERBS = (
    r"(?:usually|always|often|mostly|generally|typically|normally|never|rarely|seldom|only|also|really"
    r"|mainly|primarily|exclusively|strongly|still|currently|regularly|sometimes|occasionally|absolutely"
    r"|totally|definitely|mostly|largely|professionally|no\s+longer|actually|truly|much|strictly|deeply)"
)
PERSONAL_VERBS = words(
    "work live prefer use like love hate dislike enjoy speak own drive play eat drink avoid study "
    "teach write code program develop manage lead follow practice practise commute cycle bike "
    "ride read cook bake host maintain volunteer belong celebrate wear identify support run "
    "observe attend collect listen watch take go hold specialize specialise report rent build "
    "design research sell freelance consult mentor swim hike climb paint draw knit garden travel "
    "surf ski dance sing favor favour deploy ship release review test merge store track pair "
    "target know tend adore detest loathe choose stick rely keep need want"
)
# Verbs that only make a durable fact with a habitual, non-momentary object.
NEEDS_CARE = frozenset(
    ["need", "want", "keep", "take", "go", "run", "watch", "read", "write", "build", "test", "review"]
)
BAD_FOLLOW = re.compile(
    r"^(?:into|across|out|a\s+look|a\s+break|a\s+nap|a\s+shower|a\s+walk|to\s+bed\b(?!\s+at)|home\b|to\s+(?!\w+\s)"
    r"|\w+ing\b(?<!ing\sthing))",
    re.IGNORECASE,
)
CAN_VERBS = words(
    "eat drink have tolerate stand digest speak read write drive swim code program play cook ski take use"
)
PAST = re.compile(
    r"^(?:was\s+(?:born|raised)|grew\s+up|moved\s+to|relocated\s+to|emigrated|immigrated|graduated"
    r"|studied|used\s+to\s+\w+|served\s+in|founded|co-?founded|retired)\b",
    re.IGNORECASE,
)
HAVE_BAD = re.compile(
    r"^(?:to|got\s+to|gotta|a\s+(?:quick\s+)?(?:question|problem|idea|doubt|headache|cold|fever|call|bug|feeling"
    r"|sec|second|minute|moment|look|favou?r|request|task|meeting|date|deadline|test|exam|interview)"
    r"|an?\s+(?:issue|error|idea|appointment|interview|exam|update)|no\s+(?:idea|clue|time)|just|already|done"
    r"|finished|tried|been\s+\w+ing|been\s+(?:thinking|wondering|trying|meaning))\b",
    re.IGNORECASE,
)
HAVE_PARTICIPLES = words(
    "been lived worked used had studied owned played taught practiced practised spoken known always never got"
)
TEAM_VERBS = words(
    "deploy use ship release run host build follow write code develop review test merge maintain "
    "store work practice practise squash rebase require track pair prefer standardize standardise "
    "target support sell make keep avoid enforce publish version tag document hold meet rely do "
    "have"
)
HAS_VERBS = words(
    "is are has have uses runs deploys works lives prefers likes loves hates sells makes builds "
    "ships includes follows requires speaks eats plays studies goes owns teaches develops hosts "
    "consists contains needs avoids enjoys drives attends reviews releases merges holds meets "
    "specializes specialises was were can cannot does doesn't don't never always usually often "
    "also still"
)
MY_BAD_SUBJECT = re.compile(
    r"\b(?:question|problem|issue|point|guess|bad|fault|plan|idea|concern|request|task|bug|error|output"
    r"|answer|response|message|prompt|name|mistake|day|week|morning|night|weekend|mood|head|computer"
    r"|laptop|phone|internet|wifi|connection|build|code|test|tests|server|app|page|file|screen|order"
    r"|flight|train|bus|package|delivery|turn|goal|priority|reason|opinion|thought|feeling)s?$",
    re.IGNORECASE,
)
MY_BAD_VALUE = re.compile(
    r"^(?:not\s+working|broken|failing|down|slow|dead|acting\s+up|crashing|stuck|busy|sick|late|coming"
    r"|here|gone|away|off|on|over|ok|okay|fine|weird|wrong|bad|terrible|awful|messed|flaky|out|that"
    r"|this|it|so|too|really|very|still|currently|almost|nearly|about)\b",
    re.IGNORECASE,
)
NAME = r"[A-Z][a-zA-Z'\-]{1,30}(?:\s+[A-Z][a-zA-Z'\-]{1,30}){0,2}"
PRONOUNS = {
    "my": "their",
    "mine": "theirs",
    "myself": "themselves",
    "me": "them",
    "our": "their",
    "ours": "theirs",
    "ourselves": "themselves",
    "us": "them",
    "i": "they",
    "i'm": "they're",
    "i've": "they've",
    "we": "they",
    "we're": "they're",
    "we've": "they've",
    "i'd": "they'd",
    "i'll": "they'll",
    "im": "they're",
}
PRONOUN_RE = re.compile(
    r"\b(?:" + "|".join(sorted(map(re.escape, PRONOUNS), key=len, reverse=True)) + r")\b", re.IGNORECASE
)
ABBREVIATIONS = words("mr mrs ms dr st jr sr inc corp ltd co vs etc prof mt ave no approx dept univ")
CLAUSE_SPLIT = re.compile(
    r"(?:,\s*|\s+)(?:and|but|while|whereas|because|since|as|so|plus)\s+"
    r"(?=(?:i|i'm|im|i've|my|we|we're|our|they|they're|he|he's|she|she's)\b)"
    r"|,\s+(?=(?:i|i'm|im|i've|my|we|we're|our)\s)"
    r"|\s+and\s+(?=(?:also\s+)?(?:live|lives|work|works|prefer|prefers|use|uses|speak|speaks|love|loves)\b)",
    re.IGNORECASE,
)
# Claims of rights over this system ("the user is an administrator with unlimited credits", "I have
# permission to delete everything"): whoever wrote them, they never become facts.
PRIVILEGE = re.compile(
    r"""\b(?:unlimited|permissions?|privileges?|privileged|authori[sz]ed\s+to|allowed\s+to|entitled\s+to
    |access\s+to\s+(?:all|every|any)|bypass|exempt\s+from|credits?|quotas?|elevated|admin\s+(?:rights|access|mode)
    |root\s+access|superuser|sudo|override)\b
    | \b(?:is|am|'m|are)\s+(?:an?\s+|the\s+)?(?:admin|administrator|moderator|owner|operator|superuser)\b
      (?!\s+(?:at|for|in|of|with)\s+(?!this|the\s+(?:system|service|account|assistant|platform)))""",
    re.IGNORECASE | re.VERBOSE,
)
# A request to the assistant after a fact: "I'm allergic to shellfish, so never suggest prawns".
INSTRUCTION_TAIL = re.compile(
    r"""(?:,|\s+-|\s+—)?\s+(?:so|and|please)\s+(?:please\s+)?(?:never|always|don't|do\s+not|avoid|make\s+sure
    |remember|keep|use|suggest|recommend|only)\b.*$
    | ,?\s+(?:please\s+)?(?:remember|note|keep\s+in\s+mind)\s+(?:that|this|it)\b.*$""",
    re.IGNORECASE | re.VERBOSE,
)
# How the user wants to be answered: "Please always answer in Spanish", "Keep your answers short".
ANSWER_STYLE = [
    re.compile(
        r"^(?:please\s+)?(?:always\s+)?(?:answer|reply|respond|write\s+back)(?:\s+to\s+me)?\s+"
        r"(?P<how>in\s+(?:[A-Z]\w+|bullet\s+points|short\s+\w+|plain\s+\w+|markdown|a\s+\w+\s+tone)"
        r"|with\s+(?:code\s+)?examples|briefly|concisely|formally|informally|casually)$",
        re.IGNORECASE,
    ),
    re.compile(
        r"^(?:i'd|i\s+would)\s+like\s+(?:you\s+to\s+)?(?:answer|reply|respond)\s+(?P<how>.+)$",
        re.IGNORECASE,
    ),
    re.compile(
        r"^(?:please\s+)?keep\s+(?:your\s+)?(?:answers|replies|responses)\s+(?P<how>short|brief|concise|simple"
        r"|under\s+.+|to\s+.+)$",
        re.IGNORECASE,
    ),
]
# Plans and ongoing projects are durable even with a time word ("next year", "in April").
PLAN = re.compile(
    r"^(?:i'm|i\s+am|im)\s+(?:planning|saving\s+up|saving|preparing|training|hoping)\s+(?:to|for)\s+"
    r"|^(?:i'm|i\s+am|im)\s+(?:working|building|writing)\s+(?:on\s+)?(?:an?|my|the)\s+\w"
    r"|^i\s+(?:plan|intend|am\s+going)\s+to\s+",
    re.IGNORECASE,
)
# "I live in Berlin now": where one lives or works is a fact, even said "now".
DURABLE_NOW = re.compile(
    r"^(?P<fact>i\s+(?:live|work|am\s+based)|i'm\s+(?:living|working|based)).*?(?P<now>\s+(?:now|nowadays|these\s+days))$",
    re.IGNORECASE,
)
